import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { createDashboardAuth } from '../auth/dashboard-auth.ts'
import { APP_ROOT } from '../config/app-root.ts'
import type { Config } from '../config/env.ts'
import type { Site } from '../core/types.ts'
import { createApp } from '../http/create-app.ts'
import { MemoryRateLimiter } from '../limits/rate-limiter.ts'
import { LiveView } from '../live/live-view.ts'
import type { Logger } from '../log/logger.ts'
import { Collector } from '../pipeline/collector.ts'
import { InProcessPipeline } from '../pipeline/in-process-pipeline.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import type { Store } from '../storage/store.ts'
import { ensureDefaultSite } from './default-site.ts'
import { ThreadedPipeline } from './embedded/threaded-pipeline.ts'
import { closeWithDeadline, SERVER_TIMEOUTS } from './http-server.ts'
import { recordServerPid } from './server-pid.ts'
import { builtTrackerScript } from './tracker-script.ts'

const SWEEP_EVERY_MS = 5 * 60_000

export const VERSION = (
  JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as {
    version: string
  }
).version

export interface EmbeddedServer {
  url: string
  port: number
  site: Site
  generatedKey: boolean
  /** Only on the first start without ADMIN_PASSWORD: print it once. */
  generatedPassword?: string
  databaseFile: string
  store: Store
  /** The HTTP side of ingestion; `stats()` counts the requests refused and what waits. */
  collector: Collector
  /** Resolves once every accepted event is rolled up into sessions and counters. */
  settle: () => Promise<void>
  /**
   * Stops accepting requests, gives those under way SHUTDOWN_TIMEOUT_SECONDS before closing
   * their connections, commits and rolls up everything handed over, closes the database.
   */
  close: () => Promise<void>
}

/** The embedded shape: the HTTP app over SQLite in this process, plus the sweeper. */
export async function startEmbedded(
  config: Config,
  logger: Logger,
  options: {
    now?: () => number
    /**
     * `threads` (the default): the stages on worker threads, each with its own connection.
     * `in-process`: the same stages on this thread, over this process's connection.
     */
    pipeline?: 'threads' | 'in-process'
  } = {},
): Promise<EmbeddedServer> {
  const databaseFile = join(config.DATA_DIR, 'liveinsight.db')
  // On the server clock, so the roll-up lag the routes report is measured on one clock when
  // this store accepts (the in-process pipeline); the worker threads' stores use real time.
  const sqlite = {
    busyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS,
    maxPageCount: config.SQLITE_MAX_PAGE_COUNT,
  }
  const store = new SqliteStore({
    file: databaseFile,
    synchronous: config.SQLITE_SYNCHRONOUS,
    ...sqlite,
    ...(options.now ? { now: options.now } : {}),
  })
  const { site, generatedKey } = await ensureDefaultSite(store, config.API_KEY, Date.now())
  const sessionTimeoutMs = config.SESSION_TIMEOUT_MINUTES * 60_000
  const pipeline: Pipeline =
    options.pipeline === 'in-process'
      ? new InProcessPipeline(store, {
          sessionTimeoutMs,
          logger,
          liveBudgetEntries: config.LIVE_BUDGET_ENTRIES,
        })
      : new ThreadedPipeline(
          {
            file: databaseFile,
            synchronous: config.SQLITE_SYNCHRONOUS,
            ...sqlite,
            sessionTimeoutMs,
            logLevel: config.LOG_LEVEL,
            liveBudgetEntries: config.LIVE_BUDGET_ENTRIES,
          },
          logger,
        )
  const collector = new Collector({
    pipeline,
    ...(options.now ? { now: options.now } : {}),
    // 0 turns the limit off (benchmarks, trusted server-side senders).
    ...(config.RATE_LIMIT_PER_MINUTE > 0
      ? { rateLimiter: new MemoryRateLimiter({ perMinute: config.RATE_LIMIT_PER_MINUTE }) }
      : {}),
    maxPending: {
      requests: config.MAX_PENDING_REQUESTS,
      bytes: config.MAX_PENDING_MB * 1024 * 1024,
    },
  })
  const now = options.now ?? Date.now
  const { auth, generatedPassword } = await createDashboardAuth(store, {
    adminPassword: config.ADMIN_PASSWORD,
    now,
  })
  // The window is kept by the accept stage, fed by its commits (live-view.ts).
  const live = new LiveView((siteId) => pipeline.liveSnapshot(siteId, now()))
  collector.onStored((siteId) => live.changed(siteId))
  const app = createApp({
    store,
    collector,
    live,
    logger,
    version: VERSION,
    trustProxy: config.TRUST_PROXY,
    socketAddress: (c) => getConnInfo(c).remote.address,
    auth,
    now,
    statsCacheMs: config.STATS_CACHE_SECONDS * 1000,
    trackerScript: builtTrackerScript(),
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
  })

  // On the server clock, as everything else: what the sweep passes, the roll-up stops writing.
  // Not awaited: after a backfill or a long downtime the first sweep can take a minute, and it
  // runs with the roll-up in short transactions, so the server listens meanwhile instead of
  // refusing the trackers' events.
  let sweeping = Promise.resolve()
  const sweep = () => {
    sweeping = pipeline
      .sweep({ now: now(), eventTtlMs: config.EVENT_TTL_HOURS * 3_600_000 })
      .then((removed) => logger.info({ removed }, 'sweep'))
      .catch((error: unknown) => logger.error({ err: error }, 'sweep failed'))
  }
  sweep()
  const sweeper = setInterval(sweep, SWEEP_EVERY_MS)
  sweeper.unref()

  // Plain HTTP/1 (serve's default createServer), so the server is a node:http Server.
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        serverOptions: SERVER_TIMEOUTS,
      },
      () => resolve(s as Server),
    )
  })
  const forgetPid = recordServerPid(config.DATA_DIR)
  const port = (server.address() as AddressInfo).port
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
  const url = `http://${host}:${port}`
  logger.info({ port, url, storage: store.kind, version: VERSION }, 'listening')

  return {
    url,
    port,
    site,
    generatedKey,
    ...(generatedPassword ? { generatedPassword } : {}),
    databaseFile,
    store,
    collector,
    settle: () => collector.settle(),
    close: async () => {
      clearInterval(sweeper)
      // Open SSE streams end first, or server.close would wait for them forever.
      live.close()
      await closeWithDeadline(server, config.SHUTDOWN_TIMEOUT_SECONDS * 1000, logger)
      await sweeping
      await collector.drain()
      await store.close()
      forgetPid()
    },
  }
}
