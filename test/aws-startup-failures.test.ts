import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { startEmbedded } from '../src/entry/embedded.ts'
import { createLogger } from '../src/log/logger.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { closedPort, runToExit, STACK_FRAME } from './support/run-to-exit.ts'

const dir = tempDir()
afterAll(() => dir.remove())

/** The environment of a person's shell, without a DynamoDB Local of the test run's. */
const { DYNAMODB_ENDPOINT: _, ...shell } = process.env

/** An AWS-shape command as `npm run` runs it: the TypeScript entry through tsx. */
const run = (entry: string, env: Record<string, string | undefined>) =>
  runToExit(process.execPath, ['--import', 'tsx', `src/entry/${entry}`], env)

describe('the AWS shape’s commands name an unreachable DynamoDB and its setting, exit 4', () => {
  let endpoint: string
  beforeAll(async () => {
    endpoint = `http://127.0.0.1:${await closedPort()}`
  })

  it.each([
    ['dev:aws', 'dev-aws.ts'],
    ['replay:aws', 'replay-aws.ts'],
  ])('%s', async (command, entry) => {
    const refused = await run(entry, { ...shell, DYNAMODB_ENDPOINT: endpoint })
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain(
      `${command}: cannot reach DynamoDB at ${endpoint} (ECONNREFUSED): start DynamoDB Local there, or set DYNAMODB_ENDPOINT`,
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
  })

  it('move:aws, with an embedded install to move', async () => {
    const dataDir = join(dir.path, 'to-move')
    await new SqliteStore({ file: join(dataDir, 'liveinsight.db') }).close()
    const refused = await run('move-to-aws.ts', {
      ...shell,
      DATA_DIR: dataDir,
      DYNAMODB_ENDPOINT: endpoint,
    })
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain(
      `move:aws: cannot reach DynamoDB at ${endpoint} (ECONNREFUSED): start DynamoDB Local there, or set DYNAMODB_ENDPOINT`,
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
  })
})

describe('npm run move:aws beside a server on the same data folder', () => {
  it('refuses to move what the server may still be writing, exit 1, and leaves it running', async () => {
    const dataDir = join(dir.path, 'in-use')
    const server = await startEmbedded(
      parseConfig({ PORT: '0', DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'NORMAL' }),
      createLogger('silent'),
    )
    try {
      // Refused before DynamoDB is even tried: the endpoint here answers nothing.
      const refused = await run('move-to-aws.ts', {
        ...shell,
        DATA_DIR: dataDir,
        DYNAMODB_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      })
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain(
        `in use by another LiveInsight process (pid ${process.pid}, server): stop it first`,
      )
      expect(refused.stderr).not.toMatch(STACK_FRAME)
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe('npm run dev:aws without java', () => {
  it('says DynamoDB Local needs java and how to install it, exit 4', async () => {
    // A PATH with node on it and nothing else, as on a machine without a JRE.
    const bin = join(dir.path, 'bin-without-java')
    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, 'node'))
    const refused = await run('dev-aws.ts', { ...shell, PATH: bin })
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain(
      'dev:aws: DynamoDB Local needs java, which is not on PATH: install it (Debian, Ubuntu: apt-get install openjdk-17-jre-headless), or set DYNAMODB_ENDPOINT',
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
  })
})
