import { join } from 'node:path'
import { createDashboardAuth } from '../../src/auth/dashboard-auth.ts'
import { createApp } from '../../src/http/create-app.ts'
import { LiveView } from '../../src/live/live-view.ts'
import { createLogger, type Logger } from '../../src/log/logger.ts'
import { Collector } from '../../src/pipeline/collector.ts'
import { InProcessPipeline } from '../../src/pipeline/in-process-pipeline.ts'
import { SqliteStore, type SqliteStoreOptions } from '../../src/storage/sqlite/sqlite-store.ts'
import { tempDir } from '../../src/testing/temp-dir.ts'

export interface AppOverSqlite {
  app: ReturnType<typeof createApp>
  store: SqliteStore
  /** The database file. */
  file: string
  pipeline: InProcessPipeline
  /** A request to the app with the dashboard's session cookie. */
  get: (path: string, headers?: Record<string, string>) => Promise<Response>
  close: () => Promise<void>
}

/**
 * The app wired as entry/embedded.ts wires it, but over the in-process pipeline, in this
 * process (so a test can reach the store the routes read), on a SQLite file in a temp dir;
 * signed in to the dashboard.
 */
export async function appOverSqlite(options: {
  /** The server clock: the store's accepts record their time by it, the routes read by it. */
  now: () => number
  statsCacheMs: number
  /** false: the pipeline only accepts, as behind a roll-up that cannot keep up. */
  rollUp?: boolean
  /** Runs on the store before the app is built: the sites a test needs. */
  prepare?: (store: SqliteStore) => Promise<unknown>
  /** Where the app and the pipeline log; nowhere when absent. */
  logger?: Logger
  /** The store's connection options (a page limit, a busy timeout). */
  connection?: Pick<SqliteStoreOptions, 'maxPageCount' | 'busyTimeoutMs'>
}): Promise<AppOverSqlite> {
  const { now } = options
  const password = 'app-over-sqlite-password-1'
  const dir = tempDir()
  const file = join(dir.path, 'liveinsight.db')
  const store = new SqliteStore({ file, now, ...options.connection })
  await options.prepare?.(store)
  const logger = options.logger ?? createLogger('silent')
  const pipeline = new InProcessPipeline(store, {
    sessionTimeoutMs: 30 * 60_000,
    logger,
    rollUp: options.rollUp ?? true,
  })
  const { auth } = await createDashboardAuth(store, { adminPassword: password, now })
  const app = createApp({
    store,
    collector: new Collector({ pipeline, now }),
    live: new LiveView((siteId) => pipeline.liveSnapshot(siteId, now())),
    logger,
    version: 'test',
    trustProxy: 0,
    socketAddress: () => '127.0.0.1',
    auth,
    now,
    statsCacheMs: options.statsCacheMs,
    trackerScript: () => undefined,
  })
  const res = await app.request('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  })
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`)
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string
  return {
    app,
    store,
    file,
    pipeline,
    get: async (path, headers = {}) => app.request(path, { headers: { cookie, ...headers } }),
    close: async () => {
      await pipeline.close()
      await store.close()
      dir.remove()
    },
  }
}
