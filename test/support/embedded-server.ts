import { join } from 'node:path'
import Database from 'better-sqlite3'
import { parseConfig } from '../../src/config/env.ts'
import { type EmbeddedServer, startEmbedded } from '../../src/entry/embedded.ts'
import { createLogger } from '../../src/log/logger.ts'
import { signIn } from '../../src/testing/sign-in.ts'
import { tempDir } from '../../src/testing/temp-dir.ts'

export const TEST_API_KEY = 'test_key_0123456789abcdef'

export interface TestServer {
  server: EmbeddedServer
  url: string
  /** A second, read-only connection to the real database file, as an operator would open. */
  db: () => Database.Database
  post: (
    body: unknown,
    init?: { headers?: Record<string, string>; query?: string },
  ) => Promise<Response>
  /** Signs in with ADMIN_PASSWORD (or the generated one) and returns the Bearer token. */
  signIn: () => Promise<string>
  stop: () => Promise<void>
}

export interface TestServerOptions {
  /** The server clock (collector, auth, read routes); real time when absent. */
  now?: () => number
  /** A data dir the caller owns and removes (to restart a server on it); a fresh one if absent. */
  dataDir?: string
}

export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

/** The embedded server, started for real on a random loopback port over a temp data dir. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const { dataDir, ...startOptions } = options
  const dir = dataDir ? { path: dataDir, remove: () => {} } : tempDir()
  const config = parseConfig({
    PORT: '0',
    DATA_DIR: dir.path,
    API_KEY: TEST_API_KEY,
    SQLITE_SYNCHRONOUS: 'NORMAL',
    ...env,
  })
  const server = await startEmbedded(config, createLogger('silent'), startOptions)
  let reader: Database.Database | undefined
  return {
    server,
    url: server.url,
    db: () => {
      reader ??= new Database(join(dir.path, 'liveinsight.db'), { readonly: true })
      return reader
    },
    // Answers once the events are accepted; sessions and counters follow in the background,
    // so the helper also waits for the roll-up before a test reads the database.
    post: async (body, init = {}) => {
      const res = await fetch(`${server.url}/api/events${init.query ?? ''}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': TEST_API_KEY,
          'user-agent': CHROME_UA,
          ...init.headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
      await server.settle()
      return res
    },
    signIn: async () => {
      return signIn(server.url, env.ADMIN_PASSWORD ?? server.generatedPassword)
    },
    stop: async () => {
      reader?.close()
      await server.close()
      dir.remove()
    },
  }
}
