import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'

/**
 * The deploy scripts stop early, saying what is missing, before they build or change
 * anything: no terraform, no AWS CLI, no credentials. (What they do with all three is AWS's
 * to see: no account is reachable from here.)
 */
const ROOT = join(import.meta.dirname, '..')
const dir = tempDir()
afterAll(() => dir.remove())

/** A bin folder with stand-ins: `aws sts get-caller-identity` fails as without credentials. */
function fakeBin(tools: Record<string, string>, name?: string): string {
  const bin = join(dir.path, `bin-${name ?? (Object.keys(tools).join('-') || 'none')}`)
  mkdirSync(bin, { recursive: true })
  for (const [name, body] of Object.entries(tools)) {
    const file = join(bin, name)
    writeFileSync(file, `#!/bin/sh\n${body}\n`)
    chmodSync(file, 0o755)
  }
  return bin
}

function run(
  script: string,
  bin: string,
  args: string[] = [],
  options: { root?: string; env?: Record<string, string> } = {},
) {
  return spawnSync('/bin/bash', [join(options.root ?? ROOT, 'scripts', script), ...args], {
    encoding: 'utf8',
    // Only the stand-ins and the shell's own tools: no real terraform or aws on the way.
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir.path, ...options.env },
  })
}

/**
 * Stand-ins that work, recording each call in `log`: credentials that pass, a terraform whose
 * plan and apply succeed and whose outputs are names, an aws that uploads nothing.
 */
function workingBin(name: string, log: string): string {
  return fakeBin(
    {
      terraform: `echo "terraform $*" >> '${log}'
case "$1" in
  output)
    case "$3" in
      s3_bucket_name) echo static-bucket ;;
      cloudfront_distribution_id) echo EDIST123 ;;
      cloudfront_url) echo https://d123.cloudfront.net ;;
      api_gateway_url) echo https://api.example/prod ;;
      collector_url) echo https://abc123.execute-api.ap-northeast-2.amazonaws.com ;;
    esac ;;
esac
exit 0`,
      aws: `echo "aws $*" >> '${log}'
exit 0`,
    },
    `working-${name}`,
  )
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('deploy and destroy scripts', () => {
  const none = fakeBin({})
  const noCredentials = fakeBin({
    terraform: 'echo "terraform called" >&2; exit 3',
    aws: 'echo "Unable to locate credentials" >&2; exit 255',
  })

  it.each(['deploy.sh', 'destroy.sh'])('%s names a missing terraform', (script) => {
    const result = run(script, none, script === 'deploy.sh' ? ['--plan-only'] : [])
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/'terraform' is missing/)
  })

  it.each(['deploy.sh', 'destroy.sh'])('%s stops without AWS credentials', (script) => {
    const result = run(script, noCredentials)
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/no working AWS credentials/)
    // Nothing was planned or built.
    expect(result.stderr).not.toMatch(/terraform called/)
  })

  it('refuses an unknown option', () => {
    const result = run('deploy.sh', none, ['--bogus'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/unknown option --bogus/)
  })

  it('destroy.sh destroys nothing unless the data is to go, and says how', () => {
    const log = join(dir.path, 'destroy-refused.log')
    const result = run('destroy.sh', workingBin('refused', log), ['--yes'])
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/nothing destroyed/)
    expect(result.stderr).toMatch(/deletion-protected/)
    expect(result.stderr).toMatch(/scripts\/destroy\.sh --delete-data/)
    expect(result.stderr).toMatch(/table_deletion_protection=false/)
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').not.toMatch(/terraform/)
  })

  it('destroy.sh --delete-data turns the tables’ protection off, then destroys', () => {
    const log = join(dir.path, 'destroy.log')
    // This checkout may have no dist/: nothing of the package is needed to destroy.
    const result = run('destroy.sh', workingBin('destroy', log), ['--delete-data', '--yes'])
    expect(result.status, result.stderr).toBe(0)
    const calls = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('terraform'))
    const apply = calls.findIndex((l) => l.startsWith('terraform apply'))
    const destroy = calls.findIndex((l) => l.startsWith('terraform destroy'))
    expect(apply).toBeGreaterThanOrEqual(0)
    expect(destroy).toBeGreaterThan(apply)
    for (const table of ['events', 'sessions', 'state']) {
      expect(calls[apply]).toContain(`-target=aws_dynamodb_table.${table}`)
    }
    expect(calls[apply]).toContain('table_deletion_protection=false')
    expect(calls[destroy]).toContain('table_deletion_protection=false')
    expect(calls[destroy]).not.toContain('-target')
  })
})

/**
 * The package a deploy used is kept where the next build cannot reach it (the build starts
 * from an empty dist/lambda), so a roll-back can deploy it again. The real build script runs
 * in a copy of the checkout (its source linked, the front-end files stand-ins); terraform and
 * aws are stand-ins that record what they were asked.
 */
describe('releases and roll-back', () => {
  const root = join(dir.path, 'checkout')
  const log = join(dir.path, 'release.log')
  const bin = workingBin('release', log)
  const build = () =>
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/build-lambda.ts'], {
      cwd: root,
      encoding: 'utf8',
    })
  const zip = join(root, 'dist', 'lambda', 'liveinsight-lambda.zip')
  const deploy = (args: string[]) =>
    run('deploy.sh', bin, args, { root, env: { TF_VAR_admin_password: 'a-long-password' } })

  beforeAll(() => {
    mkdirSync(join(root, 'scripts'), { recursive: true })
    mkdirSync(join(root, 'infra', 'terraform'), { recursive: true })
    mkdirSync(join(root, 'dist', 'vendor'), { recursive: true })
    symlinkSync(join(ROOT, 'src'), join(root, 'src'))
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'))
    copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'))
    for (const script of ['build-lambda.ts', 'deploy.sh']) {
      copyFileSync(join(ROOT, 'scripts', script), join(root, 'scripts', script))
    }
    for (const file of ['liveinsight.js', 'dashboard.css', 'demo.js', 'vendor/htmx.min.js']) {
      writeFileSync(join(root, 'dist', file), `/* ${file} */\n`)
    }
    writeFileSync(join(root, 'dist', 'vendor', 'chart.umd.js'), '/* chart */\n')
    writeFileSync(join(root, 'dist', 'dashboard.js'), '/* dashboard, first build */\n')
    build()
  }, 120_000)

  it('keeps the deployed package and its static files through a rebuild, for a roll-back', () => {
    const first = sha256(zip)
    const deployed = deploy(['--zip', 'dist/lambda/liveinsight-lambda.zip'])
    expect(deployed.status, deployed.stderr).toBe(0)
    const release = join(root, 'releases', first.slice(0, 16))
    expect(deployed.stdout).toContain(`release ${first.slice(0, 16)}`)
    // Terraform was given the kept copy, not the build's.
    expect(readFileSync(log, 'utf8')).toContain(
      `-var lambda_zip=${join(release, 'liveinsight-lambda.zip')}`,
    )
    expect(readFileSync(join(root, 'releases', 'deployed.log'), 'utf8')).toContain(
      first.slice(0, 16),
    )

    // A new build: dist/lambda starts empty, the package differs.
    writeFileSync(join(root, 'dist', 'dashboard.js'), '/* dashboard, second build */\n')
    build()
    expect(sha256(zip)).not.toBe(first)

    // The first release is whole: its package, and the static files built with it.
    expect(sha256(join(release, 'liveinsight-lambda.zip'))).toBe(first)
    expect(readFileSync(join(release, 'static', 'assets', 'dashboard.js'), 'utf8')).toContain(
      'first build',
    )

    // The roll-back deploys it again, static files included.
    writeFileSync(log, '')
    const rollback = deploy(['--zip', join(release, 'liveinsight-lambda.zip')])
    expect(rollback.status, rollback.stderr).toBe(0)
    const calls = readFileSync(log, 'utf8')
    expect(calls).toContain(`-var lambda_zip=${join(release, 'liveinsight-lambda.zip')}`)
    expect(calls).toContain(`aws s3 sync ${join(release, 'static')} s3://static-bucket/`)
  })

  it('asks for the provider lock file to be committed until git tracks it', () => {
    const lockFile = join(root, 'infra', 'terraform', '.terraform.lock.hcl')
    const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args])
    git('init', '-q')
    // What `terraform init` writes (the stand-in writes nothing): not committed yet.
    writeFileSync(lockFile, '# provider lock\n')
    const asked = 'commit infra/terraform/.terraform.lock.hcl'
    const first = deploy(['--zip', 'dist/lambda/liveinsight-lambda.zip'])
    expect(first.status, first.stderr).toBe(0)
    expect(first.stdout).toContain(asked)
    git('add', 'infra/terraform/.terraform.lock.hcl')
    const later = deploy(['--zip', 'dist/lambda/liveinsight-lambda.zip'])
    expect(later.status, later.stderr).toBe(0)
    expect(later.stdout).not.toContain(asked)
    // And this repository does not ignore it.
    expect(
      spawnSync('git', ['-C', ROOT, 'check-ignore', '-q', 'infra/terraform/.terraform.lock.hcl'])
        .status,
    ).toBe(1)
  })

  it('invalidates the scripts in CloudFront after uploading them', () => {
    writeFileSync(log, '')
    const deployed = deploy(['--zip', 'dist/lambda/liveinsight-lambda.zip'])
    expect(deployed.status, deployed.stderr).toBe(0)
    const calls = readFileSync(log, 'utf8').trim().split('\n')
    const apply = calls.findIndex((l) => l.startsWith('terraform apply'))
    const sync = calls.findIndex((l) => l.startsWith('aws s3 sync'))
    const invalidation = calls.findIndex((l) => l.startsWith('aws cloudfront create-invalidation'))
    expect(apply).toBeGreaterThanOrEqual(0)
    expect(sync).toBeGreaterThan(apply)
    expect(invalidation).toBeGreaterThan(sync)
    expect(calls[invalidation]).toBe(
      'aws cloudfront create-invalidation --distribution-id EDIST123 --paths /assets/* /liveinsight.js',
    )
  })

  it('refuses a package without the static files built with it, before planning', () => {
    writeFileSync(log, '')
    const lone = join(dir.path, 'lone', 'liveinsight-lambda.zip')
    mkdirSync(join(dir.path, 'lone'), { recursive: true })
    copyFileSync(zip, lone)
    const result = deploy(['--zip', lone])
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/no static files at/)
    expect(readFileSync(log, 'utf8')).not.toMatch(/terraform (plan|apply)/)
  })

  it('bundles the AWS SDK at the pinned versions instead of loading the runtime’s', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    const sdk = Object.entries(manifest.dependencies).filter(([name]) =>
      name.startsWith('@aws-sdk/'),
    )
    expect(sdk.length).toBeGreaterThan(0)
    // Exact versions (no range), as package-lock.json installs them.
    for (const [name, version] of sdk) expect(version, name).toMatch(/^\d+\.\d+\.\d+$/)
    const bundle = execFileSync('unzip', ['-p', zip, 'lambda.mjs'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
    // Nothing of the SDK is left for the runtime to resolve: no import or require of it (one
    // of the SDK's error messages spells out require("@aws-sdk/signature-v4-crt") in its text).
    // (Booleans: a failure should not print a 1.5 MB bundle.)
    expect(/from\s*"@aws-sdk\//.test(bundle), 'an import of @aws-sdk/* left to the runtime').toBe(
      false,
    )
    expect(/import\(\s*"@aws-sdk\//.test(bundle), 'a dynamic import of @aws-sdk/*').toBe(false)
    const required = [...bundle.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1])
    expect([...new Set(required)].filter((r) => r !== '@aws-sdk/signature-v4-crt')).toEqual([])
    expect(bundle.includes('SSMClient'), 'the SSM client bundled').toBe(true)
    expect(bundle.includes('DynamoDBDocumentClient'), 'the DynamoDB client bundled').toBe(true)
  })

  it('leaves the country database and its reader out: on AWS CloudFront says the country', () => {
    const files = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n')
    expect(files.filter((f) => f.endsWith('.mmdb'))).toEqual([])
    const bundle = execFileSync('unzip', ['-p', zip, 'lambda.mjs'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    })
    expect(bundle.includes('geo-whois-asn-country'), 'the database resolved').toBe(false)
    expect(bundle.includes('Cannot parse binary database'), 'the MMDB reader bundled').toBe(false)
  })
})
