import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { createDashboardAuth } from '../auth/dashboard-auth.ts'
import type { SignInAttempts } from '../auth/sign-in-attempts.ts'
import { APP_ROOT } from '../config/app-root.ts'
import type { Config } from '../config/env.ts'
import type { Site } from '../core/types.ts'
import type { AppDeps } from '../http/app-env.ts'
import { createApp } from '../http/create-app.ts'
import { MemoryRateLimiter } from '../limits/rate-limiter.ts'
import { LiveView } from '../live/live-view.ts'
import type { Logger } from '../log/logger.ts'
import { Collector } from '../pipeline/collector.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import type { Store } from '../storage/store.ts'
import { ensureDefaultSite } from './default-site.ts'
import { closeWithDeadline, SERVER_TIMEOUTS } from './http-server.ts'
import { nodeRequestPath } from './request-target.ts'
import { builtTrackerScript } from './tracker-script.ts'
import { unparsableRequest } from './unparsable-request.ts'

const SWEEP_EVERY_MS = 5 * 60_000

export const VERSION = (
  JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as {
    version: string
  }
).version

/** What a shape brings to the one service: its store, its pipeline, its background work. */
export interface ServiceParts {
  store: Store
  pipeline: Pipeline
  /** Work beside the pipeline (the stream poller of the DynamoDB shape): settled, then closed. */
  background?: { settle(): Promise<void>; close(): Promise<unknown> }
  /**
   * Whether the dashboard's live panel takes pushes (SSE) or polls every 3 s. Pushes need one
   * process that sees every event (the embedded shape); a store shared by many processes
   * (DynamoDB) polls, as the dashboard does behind API Gateway.
   */
  livePush: boolean
  /** A faster record report than the store's direct read (AppDeps.recordReport). */
  recordReport?: AppDeps['recordReport']
  /** The same for an unfiltered query's property part (AppDeps.recordProperties). */
  recordProperties?: AppDeps['recordProperties']
  /**
   * Where the sign-in lockout's counts live: in this process's memory unless given. A shape
   * served by many processes (Lambda's containers) hands in one they all share, or a burst
   * spread over them gets each process's allowance, and a new process forgets the lockout.
   */
  signInAttempts?: SignInAttempts
  /** The country of a visitor's address where no trusted CDN says it (AppDeps.countryOf). */
  countryOf?: (address: string) => string
}

export interface RunningService {
  url: string
  port: number
  site: Site
  generatedKey: boolean
  /** Only on the first start without ADMIN_PASSWORD: print it once. */
  generatedPassword?: string
  store: Store
  /** The HTTP side of ingestion; `stats()` counts the requests refused and what waits. */
  collector: Collector
  /** Resolves once every accepted event is rolled up into sessions and counters. */
  settle: () => Promise<void>
  /**
   * Stops accepting requests, gives those under way SHUTDOWN_TIMEOUT_SECONDS before closing
   * their connections, commits and rolls up everything handed over, closes the store.
   */
  close: () => Promise<void>
}

/** What every shape builds the same way: the app and the pieces behind it. */
export interface BuiltService {
  app: ReturnType<typeof createApp>
  collector: Collector
  live: LiveView
  site: Site
  generatedKey: boolean
  generatedPassword?: string
  now: () => number
}

/**
 * The app over a shape's store and pipeline, built once and wrapped by each runtime: the Node
 * server below, the Lambda handler (entry/lambda.ts). They differ only in how a request's
 * peer address is read.
 */
export async function buildService(
  config: Config,
  logger: Logger,
  parts: ServiceParts,
  options: {
    now?: () => number
    socketAddress: (c: Context) => string | undefined
    requestPath?: (c: Context) => string | undefined
  },
): Promise<BuiltService> {
  const { store, pipeline } = parts
  const { site, generatedKey } = await ensureDefaultSite(store, config.API_KEY, Date.now())
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
    ...(parts.signInAttempts ? { signInAttempts: parts.signInAttempts } : {}),
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
    clientAddressHeader: config.CLIENT_ADDRESS_HEADER,
    ...(parts.countryOf ? { countryOf: parts.countryOf } : {}),
    socketAddress: options.socketAddress,
    ...(options.requestPath ? { requestPath: options.requestPath } : {}),
    auth,
    now,
    statsCacheMs: config.STATS_CACHE_SECONDS * 1000,
    trackerScript: builtTrackerScript(),
    livePush: parts.livePush,
    ...(parts.recordReport ? { recordReport: parts.recordReport } : {}),
    ...(parts.recordProperties ? { recordProperties: parts.recordProperties } : {}),
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
    ...(config.ORIGIN_SECRETS ? { originSecrets: config.ORIGIN_SECRETS } : {}),
    ...(config.PUBLIC_ORIGIN ? { publicOrigin: config.PUBLIC_ORIGIN } : {}),
    ...(config.COLLECTOR_ORIGIN ? { collectorOrigin: config.COLLECTOR_ORIGIN } : {}),
  })
  return {
    app,
    collector,
    live,
    site,
    generatedKey,
    ...(generatedPassword ? { generatedPassword } : {}),
    now,
  }
}

/**
 * The HTTP app over a shape's store and pipeline in this process, plus the sweeper: the
 * embedded server (`npm start`) and the DynamoDB shape on DynamoDB Local (`npm run dev:aws`)
 * differ only in the parts they hand in.
 */
export async function startService(
  config: Config,
  logger: Logger,
  parts: ServiceParts,
  options: { now?: () => number } = {},
): Promise<RunningService> {
  const { store, pipeline } = parts
  const { app, collector, live, site, generatedKey, generatedPassword, now } = await buildService(
    config,
    logger,
    parts,
    {
      ...options,
      socketAddress: (c) => getConnInfo(c).remote.address,
      requestPath: nodeRequestPath,
    },
  )

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

  // Plain HTTP/1, as @hono/node-server's serve() makes it, with the one option serve() does
  // not pass on: what answers a request the adapter cannot make into a Request.
  let server: Server
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const listener = getRequestListener(app.fetch, {
        hostname: config.HOST,
        errorHandler: unparsableRequest(logger),
      })
      const s = createServer(SERVER_TIMEOUTS, listener)
      s.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, config)))
      s.listen(config.PORT, config.HOST, () => resolve(s))
    })
  } catch (error) {
    // Nothing was served: what started for it stops, and what was accepted is kept.
    clearInterval(sweeper)
    live.close()
    await sweeping
    await collector.drain()
    await parts.background?.close()
    await store.close()
    throw error
  }
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
    store,
    collector,
    settle: async () => {
      await collector.settle()
      await parts.background?.settle()
    },
    close: async () => {
      clearInterval(sweeper)
      // Open SSE streams end first, or server.close would wait for them forever.
      live.close()
      await closeWithDeadline(server, config.SHUTDOWN_TIMEOUT_SECONDS * 1000, logger)
      await sweeping
      await collector.drain()
      await parts.background?.settle()
      await parts.background?.close()
      await store.close()
    },
  }
}

/** The server could not listen where it was told to: the port is taken, or not this user's. */
export class ListenError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options)
    this.name = 'ListenError'
  }
}

function listenError(error: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.HOST}:${config.PORT}`
  if (error.code === 'EADDRINUSE') {
    return new ListenError(
      `port ${config.PORT} is in use (${where}): stop what listens there, or set PORT to a free port`,
      { cause: error },
    )
  }
  if (error.code === 'EACCES') {
    return new ListenError(
      `this user may not listen on port ${config.PORT} (${where}): set PORT to one above 1023`,
      { cause: error },
    )
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new ListenError(`no such address to listen on: HOST=${config.HOST}`, { cause: error })
  }
  return error
}
