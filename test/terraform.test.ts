import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { SignInThrottle } from '../src/auth/sign-in-throttle.ts'
import { CONFIG_VARIABLES, parseConfig } from '../src/config/env.ts'
import { AWS_VARIABLES, REQUIRED_ON_AWS } from '../src/entry/aws/lambda-handlers.ts'
import { REPLAY_WITHIN_HOURS } from '../src/entry/aws/replay-kept.ts'
import { SET_ASIDE_LOG } from '../src/entry/aws/rollup-handler.ts'
import { buildService } from '../src/entry/service.ts'
import { ORIGIN_SECRET_HEADER } from '../src/http/origin-check.ts'
import { createLogger } from '../src/log/logger.ts'
import { InProcessPipeline } from '../src/pipeline/in-process-pipeline.ts'
import { DynamoDbSignInAttempts } from '../src/storage/dynamodb/sign-in-attempts.ts'
import {
  INDEX,
  prefixedTableNames,
  TTL_ATTRIBUTE,
  tableDefinitions,
} from '../src/storage/dynamodb/tables.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { localTables } from '../src/testing/dynamodb.ts'
import { forwardingDocClient } from '../src/testing/dynamodb-faults.ts'
import { NON_CANONICAL_COLLECTOR_PATHS } from '../src/testing/non-canonical-paths.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

/**
 * The Terraform in infra/terraform, parsed offline (@cdktf/hcl2json: no terraform binary, no
 * providers) and held against the code: the tables as tables.ts creates them, the functions'
 * environment as the code reads it, least-privilege IAM, every app route behind API Gateway,
 * the alarms. `terraform fmt -check` runs when a terraform binary is present.
 */
const DIR = join(import.meta.dirname, '..', 'infra', 'terraform')
/** HCL parsed to JSON: no static shape. */
type Json = any
let tf: { resource: Json; locals: Json; variable: Json; data: Json; output: Json; terraform: Json }

/**
 * @cdktf/hcl2json's parse, loaded by a name the type checker does not follow: its typings
 * pull in the DOM library, which would change Node's stream types for the whole project.
 */
async function hclParser(): Promise<(file: string, text: string) => Promise<unknown>> {
  const name = '@cdktf/hcl2json'
  return ((await import(name)) as { parse: (file: string, text: string) => Promise<unknown> }).parse
}

/** Every .tf file merged: blocks of one type from several files side by side. */
async function parseAll() {
  const parse = await hclParser()
  const merged = {
    resource: {},
    locals: {},
    variable: {},
    data: {},
    output: {},
    terraform: [],
  } as Json
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.tf'))) {
    const json = await parse(file, readFileSync(join(DIR, file), 'utf8'))
    for (const [kind, blocks] of Object.entries(json as Json)) {
      if (kind === 'locals') {
        for (const local of blocks as Json[]) Object.assign(merged.locals, local)
      } else if (kind === 'resource' || kind === 'data') {
        for (const [type, named] of Object.entries(blocks as Json)) {
          merged[kind][type] = { ...merged[kind][type], ...(named as Json) }
        }
      } else if (kind === 'variable' || kind === 'output') {
        Object.assign(merged[kind], blocks)
      } else if (kind === 'terraform') {
        merged.terraform.push(...(blocks as Json[]))
      }
    }
  }
  return merged
}

/**
 * URL_DECODE then NORMALIZE_PATH_WIN as the WAF developer guide describes them
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html):
 * percent-decoding; backslashes to slashes, then repeated slashes, `./` and `x/../` removed.
 */
function wafNormalisedPath(path: string): string {
  const decoded = decodeURIComponent(path)
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/')
  const out: string[] = []
  for (const segment of decoded.split('/')) {
    if (segment === '.') continue
    if (segment === '..' && out.length > 1) out.pop()
    else out.push(segment)
  }
  return out.join('/')
}

const one = (blocks: Json) => (Array.isArray(blocks) ? blocks[0] : blocks)
const resource = (type: string, name: string) => one(tf.resource[type]?.[name])
const defaultOf = (name: string) => one(tf.variable[name])?.default

beforeAll(async () => {
  tf = await parseAll()
})

/** A terraform binary on PATH (fmt, console and variable checks need no provider). */
function terraformBinary(): boolean {
  const found = spawnSync('terraform', ['version'], { encoding: 'utf8' })
  return !found.error && found.status === 0
}
const TERRAFORM_ENV = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' }

/**
 * `terraform plan` on variables.tf alone (no resources, so no provider to download): runs
 * every variable's validation block with these values, as a real plan does first.
 */
function planVariables(vars: Record<string, string>) {
  const dir = tempDir()
  try {
    copyFileSync(join(DIR, 'variables.tf'), join(dir.path, 'variables.tf'))
    execFileSync('terraform', ['init', '-input=false', '-no-color'], {
      cwd: dir.path,
      env: TERRAFORM_ENV,
      stdio: 'ignore',
    })
    const args = Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])
    return spawnSync('terraform', ['plan', '-input=false', '-no-color', ...args], {
      cwd: dir.path,
      env: TERRAFORM_ENV,
      encoding: 'utf8',
    })
  } finally {
    dir.remove()
  }
}

/** Evaluates an expression with `terraform console` in an empty folder. */
function consoleEval(expression: string): { status: number | null; out: string } {
  const dir = tempDir()
  try {
    const result = spawnSync('terraform', ['console'], {
      cwd: dir.path,
      env: TERRAFORM_ENV,
      input: `${expression}\n`,
      encoding: 'utf8',
    })
    return { status: result.status, out: `${result.stdout}${result.stderr}`.trim() }
  } finally {
    dir.remove()
  }
}

/** The lowest version a constraint such as "~> 5.80" or ">= 5.80.0, < 6.0.0" admits. */
function lowestAdmitted(constraint: string): number[] {
  const floors = constraint
    .split(',')
    .map((c) => c.trim().match(/^(~>|>=|=)?\s*(\d+(?:\.\d+)*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => (m[2] as string).split('.').map(Number))
  expect(floors.length, constraint).toBeGreaterThan(0)
  return floors.sort(compareVersions).at(-1) as number[]
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

describe('the Terraform, held against the code', () => {
  it('declares the tables with the keys, indexes, TTLs and stream the code uses', () => {
    const names = prefixedTableNames('x')
    const byTable: Record<string, string> = {
      [names.events]: 'events',
      [names.sessions]: 'sessions',
      [names.state]: 'state',
    }
    for (const definition of tableDefinitions(names)) {
      const key = byTable[definition.TableName ?? ''] as keyof typeof TTL_ATTRIBUTE | 'sessions'
      const table = resource('aws_dynamodb_table', key)
      expect(table, key).toBeDefined()
      expect(table.billing_mode).toBe('PAY_PER_REQUEST')
      const hash = definition.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName
      const range = definition.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName
      expect([table.hash_key, table.range_key], key).toEqual([hash, range])
      expect(
        (table.attribute as Json[]).map((a) => [a.name, a.type]).sort(),
        `${key} attributes`,
      ).toEqual(
        definition.AttributeDefinitions?.map((a) => [a.AttributeName, a.AttributeType]).sort(),
      )
      const indexes = (table.global_secondary_index ?? []) as Json[]
      expect(indexes.map((i) => i.name).sort(), `${key} indexes`).toEqual(
        (definition.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort(),
      )
      for (const index of definition.GlobalSecondaryIndexes ?? []) {
        const declared = indexes.find((i) => i.name === index.IndexName)
        const ih = index.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName
        const ir = index.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName
        expect([declared.hash_key, declared.range_key], index.IndexName).toEqual([ih, ir])
        expect(declared.projection_type).toBe(index.Projection?.ProjectionType)
        expect([...(declared.non_key_attributes ?? [])].sort()).toEqual(
          [...(index.Projection?.NonKeyAttributes ?? [])].sort(),
        )
      }
      const ttl = TTL_ATTRIBUTE[key as keyof typeof TTL_ATTRIBUTE]
      expect(one(table.ttl)?.attribute_name, `${key} TTL`).toBe(ttl)
      if (ttl) expect(one(table.ttl)?.enabled).toBe(true)
      expect(Boolean(table.stream_enabled), `${key} stream`).toBe(
        Boolean(definition.StreamSpecification?.StreamEnabled),
      )
      if (table.stream_enabled) {
        expect(table.stream_view_type).toBe(definition.StreamSpecification?.StreamViewType)
      }
      expect(one(table.point_in_time_recovery)?.enabled).toBe(true)
      expect(one(table.on_demand_throughput)?.max_write_request_units).toBeDefined()
    }
  })

  it('sets every variable the code needs on the functions, and none it does not read', () => {
    const environment = tf.locals.function_environment as Record<string, string>
    const read = new Set<string>([...CONFIG_VARIABLES, ...AWS_VARIABLES])
    for (const name of Object.keys(environment)) expect(read.has(name), name).toBe(true)
    for (const name of REQUIRED_ON_AWS) expect(environment[name], name).toBeDefined()
    // Values the code would refuse at start-up are caught here, not at the first cold start.
    const literal = Object.fromEntries(
      Object.entries(environment).filter(([, v]) => !String(v).includes('${')),
    )
    expect(() => parseConfig(literal)).not.toThrow()
    // Warnings only by default: each log line is billed as CloudWatch Logs ingestion.
    expect(environment.LOG_LEVEL).toBe('${var.log_level}')
    expect(parseConfig({ ...literal, LOG_LEVEL: defaultOf('log_level') }).LOG_LEVEL).toBe('warn')
    expect(environment.TRUST_PROXY).toBe('2')
    const fn = resource('aws_lambda_function', 'functions')
    expect(fn.runtime).toBe('nodejs22.x')
    // The collector behind its own HTTP API gets the same, less the origin secret, with the
    // connection's address and a limit per address (collector_api.tf).
    expect(one(fn.environment).variables).toBe(
      '${each.key == "event-collector" && local.collector_direct ? local.direct_collector_environment : local.function_environment}',
    )
    const direct = String(tf.locals.direct_collector_environment)
    expect(direct).toContain('k != "ORIGIN_SECRET_PARAMETER"')
    expect(direct).toContain('TRUST_PROXY           = "0"')
    expect(direct).toContain(
      'RATE_LIMIT_PER_MINUTE = tostring(var.collector_rate_limit_per_minute)',
    )
    expect(environment.COLLECTOR_ORIGIN).toBe(
      '${local.collector_direct ? local.collector_endpoint : ""}',
    )
    // The code reads an empty COLLECTOR_ORIGIN as unset (collector_door = "edge").
    expect(parseConfig({ ...literal, COLLECTOR_ORIGIN: '' }).COLLECTOR_ORIGIN).toBeUndefined()
    expect(defaultOf('lambda_memory_mb')).toBe(512)
    // Each function's own memory: the collector smaller (it mostly waits on one write; the
    // cost bench measured its CPU and its resident set, bench/NOTES.md), the others 512.
    expect(fn.memory_size).toBe('${each.value.memory}')
    const memories = tf.locals.functions as Record<string, { memory: string }>
    expect(memories['event-collector']?.memory).toBe('${var.collector_memory_mb}')
    expect(defaultOf('collector_memory_mb')).toBe(256)
    for (const name of ['realtime-api', 'stats-api', 'rollup', 'sweeper']) {
      expect(memories[name]?.memory).toBe('${var.lambda_memory_mb}')
    }
    expect(defaultOf('lambda_timeout_s')).toBe(30)
    expect(defaultOf('log_retention_days')).toBe(7)
    expect(defaultOf('aws_region')).toBe('ap-northeast-2')
    const handlers = Object.values(tf.locals.functions as Record<string, { handler: string }>)
    expect(handlers.map((f) => f.handler).sort()).toEqual(
      ['lambda.http', 'lambda.http', 'lambda.http', 'lambda.rollup', 'lambda.sweep'].sort(),
    )
  })

  it('grants only named resources and the actions the code uses', () => {
    const policy = one(tf.data.aws_iam_policy_document.lambda)
    const allowed = new Set([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      's3:PutObject',
      's3:ListBucket',
      'ssm:GetParameter',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ])
    const statements = policy.statement as Json[]
    expect(statements.length).toBeGreaterThan(4)
    for (const statement of statements) {
      for (const action of statement.actions as string[]) {
        expect(allowed.has(action), action).toBe(true)
        expect(action).not.toContain('*')
      }
      const resources = statement.resources as string | string[]
      for (const r of Array.isArray(resources) ? resources : [resources]) {
        expect(r, statement.sid).not.toBe('*')
        expect(r).not.toMatch(/^arn:aws:[^:]*:[^:]*:[^:]*:\*$/)
      }
      expect(statement.effect ?? 'Allow').toBe('Allow')
    }
    // Indexes are named one by one, not table/*/index/*: each the code queries (it was
    // missing SiteStartIndex, which the record's period read queries: AccessDenied on AWS).
    const arns = tf.locals.index_arns as string[]
    expect(arns).toHaveLength(Object.values(INDEX).length)
    for (const name of Object.values(INDEX)) {
      expect(
        arns.some((arn) => arn.endsWith(`/index/${name}`)),
        name,
      ).toBe(true)
    }
  })

  it('routes every route of the app to a function behind API Gateway', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'routes.db') })
    const logger = createLogger('silent')
    const pipeline = new InProcessPipeline(store, { sessionTimeoutMs: 1_800_000, logger })
    try {
      const { app } = await buildService(
        parseConfig({ ADMIN_PASSWORD: 'routes-password' }),
        logger,
        { store, pipeline, livePush: false },
        { socketAddress: () => undefined },
      )
      const routes = tf.locals.api_routes as Record<string, { function: string }>
      const functions = tf.locals.functions as Record<string, { handler: string }>
      // A route's function, for the default collector_door where it depends on the door.
      const direct = defaultOf('collector_door') === 'direct'
      for (const route of Object.values(routes)) {
        const choice = /^\$\{local\.collector_direct \? "([^"]+)" : "([^"]+)"\}$/.exec(
          route.function,
        )
        if (choice) route.function = (direct ? choice[1] : choice[2]) as string
      }
      const resources = ['/', ...Object.keys(routes).map((k) => `/${k}`)]
      for (const route of Object.values(routes)) {
        expect(functions[route.function]?.handler).toBe('lambda.http')
      }
      const covered = (path: string) =>
        resources.some((r) =>
          r.endsWith('/{proxy+}')
            ? path.startsWith(r.slice(0, -'{proxy+}'.length)) &&
              path.length > r.length - '{proxy+}'.length
            : r === path,
        )
      const paths = [...new Set(app.routes.map((r) => r.path))].filter((p) => p !== '/*')
      expect(paths.length).toBeGreaterThan(20)
      for (const path of paths) {
        // A parameter or a wildcard stands for at least one segment of the path.
        const concrete = path.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x')
        expect(covered(concrete), path).toBe(true)
      }
      // The live view has a function of its own, and so has the collector, behind its own
      // door by default (collector_api.tf); CloudFront's /api/events then reaches the stats
      // API, with the edge's settings.
      expect(routes['api/events']?.function).toBe(direct ? 'stats-api' : 'event-collector')
      expect(routes['api/realtime']?.function).toBe('realtime-api')
      const methods = resource('aws_api_gateway_method', 'any')
      expect(methods.http_method).toBe('ANY')
      expect(resource('aws_api_gateway_integration', 'any').type).toBe('AWS_PROXY')
      const settings = one(resource('aws_api_gateway_method_settings', 'all').settings)
      expect(settings.throttling_rate_limit).toBe('${var.api_throttle_rate_limit}')
    } finally {
      await pipeline.close()
      await store.close()
      dir.remove()
    }
  })

  it('gives the collector a door of its own by default: an HTTP API without CloudFront', () => {
    expect(defaultOf('collector_door')).toBe('direct')
    const api = resource('aws_apigatewayv2_api', 'collector')
    expect(api.protocol_type).toBe('HTTP')
    expect(api.count).toBe('${local.collector_direct ? 1 : 0}')
    const integration = resource('aws_apigatewayv2_integration', 'collector')
    expect(integration.integration_type).toBe('AWS_PROXY')
    expect(integration.payload_format_version).toBe('2.0')
    expect(integration.integration_uri).toBe(
      '${aws_lambda_function.functions["event-collector"].invoke_arn}',
    )
    // Only the collector's path: every other route stays behind the edge.
    expect(resource('aws_apigatewayv2_route', 'collector').for_each).toBe(
      '${local.collector_direct ? toset(["POST /api/events", "OPTIONS /api/events"]) : toset([])}',
    )
    const stage = resource('aws_apigatewayv2_stage', 'collector')
    expect(stage.name).toBe('$default')
    expect(stage.auto_deploy).toBe(true)
    const throttle = one(stage.default_route_settings)
    expect(throttle.throttling_rate_limit).toBe('${var.collector_throttle_rate_limit}')
    expect(throttle.throttling_burst_limit).toBe('${var.collector_throttle_burst_limit}')
    expect(defaultOf('collector_throttle_rate_limit')).toBeGreaterThan(0)
    const permission = resource('aws_lambda_permission', 'collector_http_api')
    expect(permission.principal).toBe('apigateway.amazonaws.com')
    expect(permission.function_name).toBe(
      '${aws_lambda_function.functions["event-collector"].function_name}',
    )
    expect(permission.source_arn).toBe(
      '${aws_apigatewayv2_api.collector[0].execution_arn}/*/*/api/events',
    )
    expect(tf.locals.collector_endpoint).toBe(
      '${one(aws_apigatewayv2_api.collector[*].api_endpoint)}',
    )
    expect(one(tf.output.collector_url).value).toBe(
      '${local.collector_direct ? local.collector_endpoint : local.public_origin}',
    )
    // A limit per address in each container replaces the WAF's rate rule for this door.
    expect(defaultOf('collector_rate_limit_per_minute')).toBeGreaterThan(12)
  })

  it('serves one origin over HTTPS with the per-client limit at the edge', () => {
    const cdn = resource('aws_cloudfront_distribution', 'app')
    expect(one(cdn.default_cache_behavior).viewer_protocol_policy).toBe('redirect-to-https')
    expect(one(cdn.default_cache_behavior).target_origin_id).toBe('api')
    expect((cdn.origin as Json[]).map((o) => o.origin_id).sort()).toEqual(['api', 'static'])
    // API requests carry the viewer's cookie, Origin, Sec-Fetch-Site and CloudFront's country
    // header, and nothing of them is cached at the edge.
    const behavior = one(cdn.default_cache_behavior)
    expect(behavior.origin_request_policy_id).toContain('all_viewer_except_host')
    expect(one(tf.data.aws_cloudfront_origin_request_policy.all_viewer_except_host).name).toBe(
      'Managed-AllViewerExceptHostHeader',
    )
    expect(one(tf.data.aws_cloudfront_cache_policy.disabled).name).toBe('Managed-CachingDisabled')
    expect(behavior.allowed_methods).toContain('POST')
    const staticPaths = tf.locals.static_paths as string[]
    expect(staticPaths).toEqual(['/assets/*', '/liveinsight.js'])
    const rule = one(resource('aws_wafv2_web_acl', 'edge').rule)
    const rate = one(one(rule.statement).rate_based_statement)
    expect(rate.limit).toBe('${var.requests_per_minute_per_client}')
    expect(rate.evaluation_window_sec).toBe(60)
    expect(defaultOf('requests_per_minute_per_client')).toBe(1000)
    // The limit counts the collector however its path is spelled: decoded, then normalised.
    const match = one(one(rate.scope_down_statement).byte_match_statement)
    expect([match.search_string, match.positional_constraint]).toEqual([
      '/api/events',
      'STARTS_WITH',
    ])
    expect(Object.keys(one(match.field_to_match))).toEqual(['uri_path'])
    const transformations = (match.text_transformation as Json[])
      .slice()
      .sort((a, b) => a.priority - b.priority)
      .map((t) => t.type)
    expect(transformations).toEqual(['URL_DECODE', 'NORMALIZE_PATH_WIN'])
    // Each spelling the app refuses (canonical-path.ts) is counted by the rule as AWS documents
    // the two transformations, so none is a way around the limit.
    for (const path of NON_CANONICAL_COLLECTOR_PATHS) {
      expect(wafNormalisedPath(path).startsWith(match.search_string), path).toBe(true)
    }
    const bucketBlock = resource('aws_s3_bucket_public_access_block', 'static')
    expect(bucketBlock.block_public_policy).toBe(true)
  })

  it('marks what CloudFront forwards with a secret the functions read from SSM', () => {
    const cdn = resource('aws_cloudfront_distribution', 'app')
    const origins = cdn.origin as Json[]
    const api = origins.find((o) => o.origin_id === 'api')
    // CloudFront adds the header to every request it sends to API Gateway, with the first
    // secret; S3 is reached through origin access control and needs none.
    expect(api.custom_header).toEqual([
      { name: '${local.origin_secret_header}', value: '${local.origin_secret_sent}' },
    ])
    expect(tf.locals.origin_secret_header).toBe(ORIGIN_SECRET_HEADER)
    expect(origins.find((o) => o.origin_id === 'static').custom_header).toBeUndefined()
    expect(tf.locals.origin_secret_sent).toBe(
      '${sensitive(terraform_data.origin_secret[var.origin_secret_names[0]].output)}',
    )
    // Generated once per name and kept; the functions accept every name's, in one order
    // whichever is sent, so the rotation's swap changes CloudFront only.
    const secret = resource('terraform_data', 'origin_secret')
    expect(secret.for_each).toBe('${toset(var.origin_secret_names)}')
    expect(secret.input).toContain('uuid()')
    expect(one(secret.lifecycle).ignore_changes).toEqual(['${input}'])
    expect(defaultOf('origin_secret_names')).toEqual(['1'])
    expect(tf.locals.origin_secrets_accepted).toBe(
      '${sensitive(join("\\n", sort([for s in terraform_data.origin_secret : s.output])))}',
    )
    const parameter = resource('aws_ssm_parameter', 'origin_secrets')
    expect([parameter.type, parameter.value]).toEqual([
      'SecureString',
      '${local.origin_secrets_accepted}',
    ])
    // By version: a new value is a new function configuration, read by new containers.
    const environment = tf.locals.function_environment as Record<string, string>
    expect(environment.ORIGIN_SECRET_PARAMETER).toBe(
      '${aws_ssm_parameter.origin_secrets.name}:${aws_ssm_parameter.origin_secrets.version}',
    )
    const statements = one(tf.data.aws_iam_policy_document.lambda).statement as Json[]
    const reads = statements.find((st) =>
      [st.resources].flat().includes('${aws_ssm_parameter.origin_secrets.arn}'),
    )
    expect(reads.actions).toEqual(['ssm:GetParameter'])
    expect([reads.resources].flat()).toHaveLength(1)
  })

  it('tells the functions the origin browsers use, without a dependency cycle', () => {
    const environment = tf.locals.function_environment as Record<string, string>
    expect(environment.PUBLIC_ORIGIN).toBe('${local.public_origin}')
    // The custom domain when there is one, else the distribution's own name.
    expect(tf.locals.public_origin).toMatch(/^https:\/\//)
    expect(tf.locals.public_origin).toContain('${var.domain_name}')
    expect(tf.locals.public_origin).toContain('${aws_cloudfront_distribution.app.domain_name}')
    expect(tf.output.cloudfront_url.value ?? one(tf.output.cloudfront_url).value).toBe(
      '${local.public_origin}',
    )
    // The functions now wait for the distribution; the distribution names the stage by its
    // name, since the stage waits for the functions (terraform validate reports the cycle).
    const api = (resource('aws_cloudfront_distribution', 'app').origin as Json[]).find(
      (o) => o.origin_id === 'api',
    )
    expect(api.origin_path).toBe('/${var.environment}')
    expect(resource('aws_api_gateway_stage', 'app').stage_name).toBe('${var.environment}')
  })

  it('limits sign-in requests per client at the edge, on both sign-in routes, however the path is written', async () => {
    const rules = resource('aws_wafv2_web_acl', 'edge').rule as Json[]
    const rule = rules.find((r) => r.name === 'sign-in-per-client')
    expect(rule).toBeDefined()
    expect(new Set(rules.map((r) => r.priority)).size).toBe(rules.length)
    const response = one(one(one(rule.action).block).custom_response)
    expect(response.response_code).toBe(429)
    expect(one(response.response_header)).toEqual({ name: 'Retry-After', value: '300' })
    const rate = one(one(rule.statement).rate_based_statement)
    expect(rate.aggregate_key_type).toBe('IP')
    expect(rate.evaluation_window_sec).toBe(300)
    expect(rate.limit).toBe('${var.sign_in_requests_per_5_minutes_per_client}')

    // POST, and one of the two paths, matched after URL-decoding and normalising the path.
    const [method, paths] = one(one(rate.scope_down_statement).and_statement).statement as Json[]
    const byMethod = one(method.byte_match_statement)
    expect([byMethod.search_string, byMethod.positional_constraint]).toEqual(['POST', 'EXACTLY'])
    expect(one(byMethod.field_to_match).method).toBeDefined()
    const byPath = (one(paths.or_statement).statement as Json[]).map((s) =>
      one(s.byte_match_statement),
    )
    for (const match of byPath) {
      expect(match.positional_constraint).toBe('EXACTLY')
      expect(one(match.field_to_match).uri_path).toBeDefined()
      const transforms = [...(match.text_transformation as Json[])].sort(
        (a, b) => a.priority - b.priority,
      )
      expect(transforms.map((t) => t.type)).toEqual(['URL_DECODE', 'NORMALIZE_PATH'])
    }
    const signInPaths = byPath.map((m) => m.search_string).sort()
    expect(signInPaths).toEqual(['/api/auth/login', '/login'])

    // Both are the app's sign-in routes: a wrong password on either is a 401 and counts
    // against the same lockout.
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'sign-in.db') })
    const logger = createLogger('silent')
    const pipeline = new InProcessPipeline(store, { sessionTimeoutMs: 1_800_000, logger })
    try {
      const { app } = await buildService(
        parseConfig({ ADMIN_PASSWORD: 'waf-sign-in-password' }),
        logger,
        { store, pipeline, livePush: false },
        { socketAddress: () => '192.0.2.1' },
      )
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) {
        const json = i % 2 === 0
        const res = await app.request(signInPaths[json ? 0 : 1] as string, {
          method: 'POST',
          headers: {
            'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
          },
          body: json ? JSON.stringify({ password: 'wrong' }) : 'password=wrong',
        })
        statuses.push(res.status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    } finally {
      await pipeline.close()
      await store.close()
      dir.remove()
    }

    // The limit is AWS WAF's least or more, and above what the lockout lets one address try
    // in the window, so a client that waits as told is never stopped at the edge.
    const limit = defaultOf('sign_in_requests_per_5_minutes_per_client')
    expect(limit).toBeGreaterThanOrEqual(10)
    const throttle = new SignInThrottle()
    let admitted = 0
    for (let at = 0; at < rate.evaluation_window_sec * 1000; ) {
      const answer = await throttle.reserve({ address: '192.0.2.1' }, at)
      if (answer.ok) {
        admitted += 1
        at += 1000
      } else {
        at += answer.retryAfterS * 1000
      }
    }
    expect(admitted).toBe(7)
    expect(limit).toBeGreaterThan(admitted)
  })

  it('grants on the State table every request the shared sign-in lockout sends', async () => {
    const local = await localTables()
    const { doc, mock } = forwardingDocClient(local)
    try {
      const throttle = new SignInThrottle({
        attempts: new DynamoDbSignInAttempts({ doc, table: local.tables.state }),
        globalThreshold: 3,
      })
      const now = Date.now()
      for (let i = 0; i < 4; i++) await throttle.reserve({ address: `192.0.2.${i % 2}` }, now)
      await throttle.succeeded({ address: '192.0.2.1' }, now)
      await throttle.reserve({ address: '192.0.2.9', device: 'n1' }, now)
      await throttle.succeeded({ address: '192.0.2.9', device: 'n1' }, now)
      const sent = new Set(
        mock.calls().map((call) => {
          const command = call.args[0].constructor.name.replace(/Command$/, '')
          const action = {
            Get: 'GetItem',
            Put: 'PutItem',
            Update: 'UpdateItem',
            Delete: 'DeleteItem',
          }
          return `dynamodb:${action[command as keyof typeof action] ?? command}`
        }),
      )
      expect([...sent].sort()).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ])
      const statements = one(tf.data.aws_iam_policy_document.lambda).statement as Json[]
      const onTables = statements.filter((st) => st.resources === '${local.table_arns}')
      expect(tf.locals.table_arns).toContain('${aws_dynamodb_table.state.arn}')
      const granted = new Set(onTables.flatMap((st) => st.actions as string[]))
      for (const action of sent) expect(granted.has(action), action).toBe(true)
    } finally {
      mock.restore()
      await local.drop()
    }
  })

  it('has the alarms, log retention and the roll-up’s failure handling', () => {
    const errors = resource('aws_cloudwatch_metric_alarm', 'lambda_errors')
    expect([errors.metric_name, errors.threshold, errors.period]).toEqual(['Errors', 5, 300])
    const throttles = resource('aws_cloudwatch_metric_alarm', 'dynamodb_throttles')
    expect(throttles.namespace).toBe('AWS/DynamoDB')
    const fivexx = resource('aws_cloudwatch_metric_alarm', 'api_5xx_rate')
    expect(fivexx.threshold).toBe(10)
    const age = resource('aws_cloudwatch_metric_alarm', 'rollup_iterator_age')
    expect(age.metric_name).toBe('IteratorAge')
    // A record the roll-up sets aside is logged with this message; the filter counts them.
    const setAside = resource('aws_cloudwatch_log_metric_filter', 'rollup_set_aside')
    expect(setAside.pattern).toBe(
      `{ $.msg = "${SET_ASIDE_LOG}" || $.message = "*${SET_ASIDE_LOG}*" }`,
    )
    // Lambda's START/END/REPORT lines are not sent (WARN), the app's lines are: pino's numeric
    // levels read as INFO, so an application level above INFO would drop its errors too.
    const logging = one(resource('aws_lambda_function', 'functions').logging_config)
    expect([logging.log_format, logging.system_log_level, logging.application_log_level]).toEqual([
      'JSON',
      'WARN',
      'INFO',
    ])
    const transform = one(setAside.metric_transformation)
    const setAsideAlarm = resource('aws_cloudwatch_metric_alarm', 'rollup_set_aside')
    expect([setAsideAlarm.namespace, setAsideAlarm.metric_name]).toEqual([
      transform.namespace,
      transform.name,
    ])
    expect(resource('aws_cloudwatch_dashboard', 'app')).toBeDefined()
    expect(resource('aws_cloudwatch_log_group', 'functions').retention_in_days).toBe(
      '${var.log_retention_days}',
    )
    const mapping = resource('aws_lambda_event_source_mapping', 'rollup')
    expect(mapping.bisect_batch_on_function_error).toBe(true)
    // Only INSERT records reach the roll-up (it counts nothing else: stream-records.ts).
    const filter = one(one(mapping.filter_criteria).filter)
    expect(filter.pattern).toBe('${jsonencode({ eventName = ["INSERT"] })}')
    // Any value Lambda takes: the roll-up counts by each event's key, whatever the order.
    expect(mapping.parallelization_factor).toBe('${var.rollup_parallelization_factor}')
    const parallel = one(tf.variable.rollup_parallelization_factor)
    expect(parallel.default).toBe(1)
    expect(one(parallel.validation).condition).toBe(
      '${var.rollup_parallelization_factor >= 1 && var.rollup_parallelization_factor <= 10}',
    )
    expect(mapping.function_response_types).toEqual(['ReportBatchItemFailures'])
    // A batch given up on is kept whole (S3 receives the records; SQS only their positions),
    // the alarm watches the mapping's deliveries there, and the bucket keeps them for a replay.
    expect(one(one(mapping.destination_config).on_failure).destination_arn).toBe(
      '${aws_s3_bucket.rollup_failures.arn}',
    )
    expect(one(mapping.metrics_config).metrics).toEqual(['EventCount'])
    const failures = resource('aws_cloudwatch_metric_alarm', 'rollup_failures')
    expect([failures.namespace, failures.metric_name]).toEqual([
      'AWS/Lambda',
      'OnFailureDestinationDeliveredEventCount',
    ])
    expect(failures.dimensions.EventSourceMappingUUID).toBe(
      '${aws_lambda_event_source_mapping.rollup.uuid}',
    )
    const keep = one(resource('aws_s3_bucket_lifecycle_configuration', 'rollup_failures').rule)
    expect(one(keep.expiration).days).toBe('${var.rollup_failure_keep_days}')
    expect(defaultOf('rollup_failure_keep_days') * 24).toBeGreaterThanOrEqual(REPLAY_WITHIN_HOURS)
    // Stats lag by about the batching window: a minute at most (issue 23), and the window
    // gathers the batch the size allows.
    expect(mapping.maximum_batching_window_in_seconds).toBe('${var.rollup_batching_window_s}')
    expect(defaultOf('rollup_batching_window_s')).toBeLessThanOrEqual(60)
    expect(mapping.batch_size).toBe('${var.rollup_batch_size}')
    expect(defaultOf('rollup_batch_size')).toBeLessThanOrEqual(10_000)
    for (const output of ['api_gateway_url', 's3_bucket_name', 'cloudfront_url', 'events_table']) {
      expect(tf.output[output], output).toBeDefined()
    }
  })

  it('keeps every table from a silent delete: deletion protection and point-in-time recovery', () => {
    for (const key of ['events', 'sessions', 'state']) {
      const table = resource('aws_dynamodb_table', key)
      // A destroy, or a new environment name (new table names: a replacement), fails at the
      // table instead of deleting it; scripts/destroy.sh --delete-data turns this off first.
      expect(table.deletion_protection_enabled, key).toBe('${var.table_deletion_protection}')
      expect(one(table.point_in_time_recovery)?.enabled, key).toBe(true)
    }
    const protection = one(tf.variable.table_deletion_protection)
    expect([protection.type, protection.default]).toEqual(['${bool}', true])
  })

  it('gives CloudFront a custom domain’s certificate only once ACM has validated it', () => {
    const cdn = resource('aws_cloudfront_distribution', 'app')
    const viewer = one(cdn.viewer_certificate)
    expect(viewer.acm_certificate_arn).toContain(
      'aws_acm_certificate_validation.domain[0].certificate_arn',
    )
    expect(viewer.acm_certificate_arn).not.toContain('aws_acm_certificate.domain[0].arn')
    const validation = resource('aws_acm_certificate_validation', 'domain')
    expect(validation.provider).toBe('${aws.us_east_1}')
    expect(validation.certificate_arn).toBe('${aws_acm_certificate.domain[0].arn}')
    expect(validation.count).toBe('${var.domain_name == "" ? 0 : 1}')
    // With a Route 53 zone Terraform writes the records and waits for them; without one it
    // waits for the records the output lists to be added by hand.
    expect(validation.validation_record_fqdns).toContain('aws_route53_record.acm_validation')
    expect(validation.validation_record_fqdns).toContain('var.route53_zone_id == "" ? null')
    const records = resource('aws_route53_record', 'acm_validation')
    expect(records.for_each).toContain('var.route53_zone_id == ""')
    expect(records.for_each).toContain('domain_validation_options')
    expect(records.zone_id).toBe('${var.route53_zone_id}')
    expect(defaultOf('route53_zone_id')).toBe('')
    expect(one(tf.output.acm_validation_records).value).toContain('resource_record_value')
  })

  it('has a budget alarm at the amount and address the operator sets, and none unset', () => {
    const budget = resource('aws_budgets_budget', 'monthly')
    expect(budget.count).toBe('${var.budget_monthly_usd > 0 ? 1 : 0}')
    expect(defaultOf('budget_monthly_usd')).toBe(0)
    expect(budget.limit_amount).toBe('${tostring(var.budget_monthly_usd)}')
    expect([budget.budget_type, budget.limit_unit, budget.time_unit]).toEqual([
      'COST',
      'USD',
      'MONTHLY',
    ])
    const notifications = budget.notification as Json[]
    expect(notifications.map((n) => n.notification_type).sort()).toEqual(['ACTUAL', 'FORECASTED'])
    for (const n of notifications) {
      expect(n.subscriber_email_addresses).toEqual(['${local.budget_email}'])
    }
    expect(tf.locals.budget_email).toBe(
      '${var.budget_email != "" ? var.budget_email : var.alarm_email}',
    )
    // An amount with nowhere to send the alert is refused at plan time.
    const check = one(one(budget.lifecycle).precondition)
    expect(check.condition).toBe('${local.budget_email != ""}')
  })

  it('reserves no concurrency by default, and checks what is reserved against the quota', () => {
    const functions = tf.locals.functions as Record<string, { reserved: unknown }>
    const variables = ['collector', 'api', 'rollup'].map((f) => `${f}_reserved_concurrency`)
    for (const name of variables) expect(defaultOf(name), name).toBeNull()
    for (const [key, fn] of Object.entries(functions)) {
      expect(
        fn.reserved === null || variables.some((v) => fn.reserved === `\${var.${v}}`),
        key,
      ).toBe(true)
    }
    // Lambda keeps 100 of the account's concurrency unreserved: the plan stops before an
    // apply that Lambda would refuse half-way.
    expect(tf.locals.reserved_total).toBe(
      '${sum([for f in values(local.functions) : coalesce(f.reserved, 0)])}',
    )
    const check = one(one(resource('aws_lambda_function', 'functions').lifecycle).precondition)
    expect(check.condition).toBe('${local.reserved_total <= var.lambda_concurrency_quota - 100}')
    expect(defaultOf('lambda_concurrency_quota')).toBe(1000)
  })

  it('asks for a provider version that has every argument used', () => {
    const constraint = one(one(tf.terraform[0].required_providers).aws).version as string
    // The provider's changelog: the release that added each recent argument used here.
    const added: Array<{ where: () => unknown; argument: string; version: string }> = [
      {
        where: () => resource('aws_lambda_event_source_mapping', 'rollup').metrics_config,
        argument: 'aws_lambda_event_source_mapping.metrics_config',
        version: '5.79.0',
      },
      {
        where: () => resource('aws_dynamodb_table', 'events').on_demand_throughput,
        argument: 'aws_dynamodb_table.on_demand_throughput',
        version: '5.72.0',
      },
      {
        where: () =>
          one(one(one(resource('aws_wafv2_web_acl', 'edge').rule).statement).rate_based_statement)
            .evaluation_window_sec,
        argument: 'aws_wafv2_web_acl rate_based_statement.evaluation_window_sec',
        version: '5.40.0',
      },
    ]
    const lowest = lowestAdmitted(constraint)
    for (const { where, argument, version } of added) {
      if (where() === undefined) continue
      expect(
        compareVersions(lowest, version.split('.').map(Number)),
        `${constraint} admits versions without ${argument} (${version})`,
      ).toBeGreaterThanOrEqual(0)
    }
    // 6.x has breaking changes: not admitted until tried.
    expect(constraint).toMatch(/^~> 5\.\d+$/)
  })

  it('redeploys the API stage when an integration changes, not only a route', () => {
    const trigger = one(resource('aws_api_gateway_deployment', 'app').triggers).redeployment
    expect(trigger).toContain('aws_api_gateway_integration.any')
    expect(trigger).toContain('i.uri')
    expect(trigger).toContain('aws_api_gateway_method.any')
    expect(trigger).toContain('local.api_routes')
  })

  it('publishes detailed API Gateway metrics only when asked to', () => {
    const settings = one(resource('aws_api_gateway_method_settings', 'all').settings)
    expect(settings.metrics_enabled).toBe('${var.api_detailed_metrics}')
    expect(defaultOf('api_detailed_metrics')).toBe(false)
  })

  it('starts the roll-up’s mapping only once the role may read the stream', () => {
    const mapping = resource('aws_lambda_event_source_mapping', 'rollup')
    expect(mapping.depends_on).toContain('${aws_iam_role_policy.lambda}')
  })

  it('reads the package only when it is there (a destroy on a checkout without dist/)', (context) => {
    const fn = resource('aws_lambda_function', 'functions')
    expect(fn.filename).toBe('${var.lambda_zip}')
    const hash = fn.source_code_hash as string
    expect(hash).toBe('${fileexists(var.lambda_zip) ? filebase64sha256(var.lambda_zip) : null}')
    if (!terraformBinary()) {
      context.skip()
      return
    }
    // The expression as Terraform evaluates it: no error for a missing package, the hash of one.
    const expression = (path: string) =>
      hash.slice(2, -1).replaceAll('var.lambda_zip', JSON.stringify(path))
    const missing = consoleEval(expression('/nonexistent/dist/lambda/liveinsight-lambda.zip'))
    expect(missing, missing.out).toEqual({ status: 0, out: 'null' })
    const dir = tempDir()
    try {
      const file = join(dir.path, 'package.zip')
      writeFileSync(file, 'zip')
      const present = consoleEval(expression(file))
      expect(present.status, present.out).toBe(0)
      expect(present.out).toBe(JSON.stringify(createHash('sha256').update('zip').digest('base64')))
    } finally {
      dir.remove()
    }
  })

  it('refuses bad variables at plan time: a short password, a zero reservation, a negative budget', (context) => {
    if (!terraformBinary()) {
      context.skip()
      return
    }
    const good = planVariables({ admin_password: 'eight-ch' })
    expect(good.status, good.stderr).toBe(0)
    const short = planVariables({ admin_password: 'seven-c' })
    expect(short.status).not.toBe(0)
    expect(short.stderr).toMatch(/admin_password must be at least 8 characters/)
    const zero = planVariables({ admin_password: 'eight-ch', collector_reserved_concurrency: '0' })
    expect(zero.status).not.toBe(0)
    expect(zero.stderr).toMatch(/A reservation of 0 would stop the function/)
    const reserved = planVariables({ admin_password: 'eight-ch', api_reserved_concurrency: '5' })
    expect(reserved.status, reserved.stderr).toBe(0)
    const budget = planVariables({ admin_password: 'eight-ch', budget_monthly_usd: '-1' })
    expect(budget.status).not.toBe(0)
    expect(budget.stderr).toMatch(/budget_monthly_usd is an amount in USD/)
  })

  it('is formatted as terraform fmt formats it (when a terraform binary is here)', (context) => {
    const found = spawnSync('terraform', ['version'], { encoding: 'utf8' })
    if (found.error || found.status !== 0) {
      console.log('terraform: no binary on PATH, fmt -check and validate skipped')
      context.skip()
      return
    }
    execFileSync('terraform', ['fmt', '-check', '-recursive', DIR], {
      env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' },
    })
    if (!existsSync(join(DIR, '.terraform'))) {
      // validate needs the AWS provider, which `terraform init` downloads: not here.
      console.log('terraform: providers not initialised, validate skipped')
    } else {
      execFileSync('terraform', ['validate'], { cwd: DIR })
    }
  })
})
