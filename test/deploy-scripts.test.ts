import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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
function fakeBin(tools: Record<string, string>): string {
  const bin = join(dir.path, `bin-${Object.keys(tools).join('-') || 'none'}`)
  mkdirSync(bin, { recursive: true })
  for (const [name, body] of Object.entries(tools)) {
    const file = join(bin, name)
    writeFileSync(file, `#!/bin/sh\n${body}\n`)
    chmodSync(file, 0o755)
  }
  return bin
}

function run(script: string, bin: string, args: string[] = []) {
  return spawnSync('/bin/bash', [join(ROOT, 'scripts', script), ...args], {
    encoding: 'utf8',
    // Only the stand-ins and the shell's own tools: no real terraform or aws on the way.
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir.path },
  })
}

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
})
