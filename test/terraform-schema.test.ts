import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import {
  checkTerraformDir,
  expressionsIn,
  loadSchema,
  REGENERATE,
  readTerraform,
  referencesIn,
  typesUsed,
} from './support/terraform-schema.ts'

/**
 * infra/terraform held against the AWS provider's schema (5.99.1, from the CDK for Terraform
 * bindings: scripts/terraform-schema.ts), offline. `terraform validate` would do this and
 * more, but needs the provider, which only `terraform init` downloads.
 */
const DIR = join(import.meta.dirname, '..', 'infra', 'terraform')
const schema = loadSchema()

let copy: { path: string; remove: () => void } | undefined
afterEach(() => {
  copy?.remove()
  copy = undefined
})

/**
 * infra/terraform copied, with `pattern` replaced in `file`. The pattern must match exactly
 * once: a planted mistake that no longer lands (the Terraform changed) fails here instead of
 * passing for the wrong reason.
 */
function planted(file: string, pattern: RegExp, replacement: string): string {
  copy = tempDir('tf-schema-')
  cpSync(DIR, copy.path, { recursive: true, filter: (source) => !source.includes('.terraform') })
  const path = join(copy.path, file)
  const text = readFileSync(path, 'utf8')
  const matches = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))
  expect(matches?.length, `${file}: ${pattern}`).toBe(1)
  writeFileSync(path, text.replace(pattern, replacement))
  return copy.path
}

describe('the Terraform against the AWS provider schema', () => {
  it('records every type the Terraform uses, from provider 5.99.1', async () => {
    const used = typesUsed(await readTerraform(DIR))
    expect(schema.version).toBe('5.99.1')
    expect(
      used.resources.filter((type) => !schema.resources[type]),
      REGENERATE,
    ).toEqual([])
    expect(
      used.data.filter((type) => !schema.data_sources[type]),
      REGENERATE,
    ).toEqual([])
    // What the bindings say, spot-checked against the provider's documentation.
    const fn = schema.resources.aws_lambda_function
    expect(fn?.required).toEqual(['function_name', 'role'])
    expect(fn?.arguments?.memory_size).toBe('number')
    expect(fn?.blocks?.environment?.nesting).toBe('single')
    expect(fn?.computed).toContain('invoke_arn')
    const cdn = schema.resources.aws_cloudfront_distribution
    expect(cdn?.required).toEqual(
      expect.arrayContaining(['default_cache_behavior', 'enabled', 'origin', 'restrictions']),
    )
    expect(cdn?.blocks?.origin?.nesting).toBe('list')
    const rule = schema.resources.aws_wafv2_web_acl?.blocks?.rule
    expect(rule?.blocks?.statement?.nesting).toBe('opaque')
    expect(schema.resource_types.length).toBeGreaterThan(1400)
  })

  it('passes: infra/terraform as it is', async () => {
    expect(await checkTerraformDir(DIR, schema)).toEqual([])
  })

  it('reads references in the code of expressions, not in the text of strings in them', () => {
    expect(expressionsIn('a-${var.x}-${f("aws_x.y", local.z)}')).toEqual([
      'var.x',
      'f("", local.z)',
    ])
    expect(expressionsIn('${a ? "${var.b}" : "c"}')).toEqual(['var.b', 'a ? "" : ""'])
    expect(expressionsIn('$${not.this}')).toEqual([])
    expect(
      referencesIn('data.aws_x.a.b, aws_y.c[each.key].d, f.aws_z.e, var.aws_v').map(
        (r) => `${r.kind} ${r.type ?? ''}.${r.name} [${r.indexed}] ${r.attribute}`,
      ),
    ).toEqual([
      'data aws_x.a [false] b',
      'resource aws_y.c [true] d',
      'each .key [undefined] undefined',
      'var .aws_v [undefined] undefined',
    ])
  })

  // Each mistake planted alone in a copy of infra/terraform; each must be reported.
  // [what, file, pattern, replacement, the report expected, what may follow from it]
  const mistakes: [string, string, RegExp, string, RegExp, RegExp?][] = [
    [
      'a misspelt argument',
      'lambda.tf',
      /memory_size(\s+)= each\.value\.memory/,
      'memory_sise$1= each.value.memory',
      /aws_lambda_function\.functions: unknown argument or block "memory_sise"/,
    ],
    [
      'a misspelt block',
      'dynamodb.tf',
      /point_in_time_recovery \{\n(\s+)enabled = true\n(\s+)\}\n(\s+)on_demand_throughput \{\n(\s+)max_read_request_units  = var.dynamodb_max_read_request_units\n(\s+)max_write_request_units = var.dynamodb_max_write_request_units\n(\s+)\}\n\}\n\nresource "aws_dynamodb_table" "sessions"/,
      'point_in_time_recovery {\n$1enabled = true\n$2}\n$3on_demand_throughput {\n$4max_read_request_units  = var.dynamodb_max_read_request_units\n$5max_write_request_units = var.dynamodb_max_write_request_units\n$6}\n  point_in_time_recover {}\n}\n\nresource "aws_dynamodb_table" "sessions"',
      /aws_dynamodb_table\.events: unknown argument or block "point_in_time_recover"/,
    ],
    [
      'a misspelt argument in a dynamic block',
      'static.tf',
      /path_pattern(\s+)= ordered_cache_behavior\.value/,
      'path_patern$1= ordered_cache_behavior.value',
      /aws_cloudfront_distribution\.app dynamic "ordered_cache_behavior": unknown argument or block "path_patern"/,
      /missing required argument "path_pattern"/,
    ],
    [
      'an unknown resource type',
      'monitoring.tf',
      /resource "aws_sns_topic" "alarms"/,
      'resource "aws_sns_topics" "alarms"',
      /aws_sns_topics\.alarms: unknown resource type "aws_sns_topics"/,
      /reference to undeclared resource aws_sns_topic\.alarms/,
    ],
    [
      'an unknown data source type',
      'main.tf',
      /data "aws_caller_identity" "current"/,
      'data "aws_caller_identities" "current"',
      /data aws_caller_identities\.current: unknown data source type "aws_caller_identities"/,
      /reference to undeclared data source data\.aws_caller_identity\.current/,
    ],
    [
      'a missing required argument',
      'lambda.tf',
      /\n\s+role\s+= aws_iam_role\.lambda\.arn/,
      '',
      /aws_lambda_function\.functions: missing required argument "role"/,
    ],
    [
      'a missing required nested argument',
      'dynamodb.tf',
      /(resource "aws_dynamodb_table" "state" \{[^]*?attribute \{\n\s+name = "pk"\n)\s+type = "S"\n/,
      '$1',
      /aws_dynamodb_table\.state attribute: missing required argument "type"/,
    ],
    [
      'a missing required block',
      'static.tf',
      /\n {2}restrictions \{\n {4}geo_restriction \{\n {6}restriction_type = "none"\n {4}\}\n {2}\}\n/,
      '\n',
      /aws_cloudfront_distribution\.app: missing required block "restrictions"/,
    ],
    [
      'a string where a number is required',
      'monitoring.tf',
      /(alarm_name\s+= "\$\{local\.name\}-rollup-iterator-age"[^]*?)period(\s+)= 60\n/,
      '$1period$2= "one minute"\n',
      /aws_cloudwatch_metric_alarm\.rollup_iterator_age: argument "period" takes number, given string "one minute"/,
    ],
    [
      'a string where a bool is required',
      'dynamodb.tf',
      /stream_enabled(\s+)= true/,
      'stream_enabled$1= "yes"',
      /aws_dynamodb_table\.events: argument "stream_enabled" takes bool, given string "yes"/,
    ],
    [
      'a string where a list is required',
      'lambda.tf',
      /architectures(\s+)= \["arm64"\]/,
      'architectures$1= "arm64"',
      /aws_lambda_function\.functions: argument "architectures" takes list\(string\), given string "arm64"/,
    ],
    [
      'a block written as an argument',
      'api_gateway.tf',
      /settings \{\n(\s+)throttling_rate_limit /,
      'settings = {\n$1throttling_rate_limit ',
      /aws_api_gateway_method_settings\.all: "settings" is a block: write settings \{ … \}/,
    ],
    [
      'a repeated single block',
      'dynamodb.tf',
      /(resource "aws_dynamodb_table" "state" \{[^]*?)(\n {2}point_in_time_recovery \{\n {4}enabled = true\n {2}\})/,
      '$1$2$2',
      /aws_dynamodb_table\.state: block "point_in_time_recovery" may appear once, appears 2 times/,
    ],
    [
      'a repeated single nested block',
      'static.tf',
      /(\n {6}restriction_type = "none"\n {4}\})/,
      '$1\n    geo_restriction {\n      restriction_type = "none"\n    }',
      /aws_cloudfront_distribution\.app restrictions: block "geo_restriction" may appear once, appears 2 times/,
    ],
    [
      'a reference to an undeclared resource',
      'lambda.tf',
      /role(\s+)= aws_iam_role\.lambda\.arn/,
      'role$1= aws_iam_role.lambdas.arn',
      /aws_lambda_function\.functions: reference to undeclared resource aws_iam_role\.lambdas/,
    ],
    [
      'a reference to an undeclared data source',
      'iam.tf',
      /policy(\s+)= data\.aws_iam_policy_document\.lambda\.json/,
      'policy$1= data.aws_iam_policy_document.lambda_policy.json',
      /aws_iam_role_policy\.lambda: reference to undeclared data source data\.aws_iam_policy_document\.lambda_policy/,
    ],
    [
      'a reference to an undeclared variable',
      'lambda.tf',
      /timeout(\s+)= var\.lambda_timeout_s/,
      'timeout$1= var.lambda_timeout',
      /aws_lambda_function\.functions: reference to undeclared variable var\.lambda_timeout/,
    ],
    [
      'a reference to an undeclared local value',
      'main.tf',
      /tags = local\.tags\n(\s+)\}\n\}\n\n# CloudFront/,
      'tags = local.tag\n$1}\n}\n\n# CloudFront',
      /main\.tf: provider "aws": reference to undeclared local value local\.tag/,
    ],
    [
      'a reference to an attribute the resource does not have',
      'api_gateway.tf',
      /\.invoke_arn\n/,
      '.invoke_url\n',
      /aws_api_gateway_integration\.any: aws_lambda_function\.functions has no attribute "invoke_url"/,
    ],
    [
      'a for_each resource referenced without a key',
      'monitoring.tf',
      /aws_lambda_function\.functions\["rollup"\]\.function_name \}\n/,
      'aws_lambda_function.functions.function_name }\n',
      /aws_lambda_function\.functions has count or for_each: aws_lambda_function\.functions\.function_name needs an index/,
    ],
    [
      'each outside a for_each',
      'lambda.tf',
      /(resource "aws_lambda_permission" "sweep" \{[^]*?)principal(\s+)= "events\.amazonaws\.com"/,
      '$1principal$2= each.value',
      /aws_lambda_permission\.sweep: each\.value outside a for_each/,
    ],
    [
      "a list given to a resource's for_each",
      'api_gateway.tf',
      /for_each(\s+)= toset\(\["event-collector", "realtime-api", "stats-api"\]\)/,
      'for_each$1= ["event-collector", "realtime-api", "stats-api"]',
      /aws_lambda_permission\.api: for_each takes a map or a set, given a list/,
    ],
    [
      'a provider alias that is not configured',
      'static.tf',
      /(resource "aws_wafv2_web_acl" "edge" \{\n\s+provider = )aws\.us_east_1/,
      '$1aws.useast1',
      /aws_wafv2_web_acl\.edge: provider \$\{aws\.useast1\} is not configured/,
    ],
    [
      'an unknown argument in the provider block',
      'main.tf',
      /alias {2}= "us_east_1"\n(\s+)region = "us-east-1"/,
      'alias  = "us_east_1"\n$1regoin = "us-east-1"',
      /provider "aws" \(us_east_1\): unknown argument or block "regoin"/,
    ],
  ]

  it.each(mistakes)('reports %s', async (_, file, pattern, replacement, expected, follows) => {
    const problems = await checkTerraformDir(planted(file, pattern, replacement), schema)
    expect(problems, problems.join('\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(expected)]),
    )
    // Nothing else, but what follows from it (references to a resource no longer declared).
    expect(problems.filter((p) => !expected.test(p) && !follows?.test(p))).toEqual([])
  })
})
