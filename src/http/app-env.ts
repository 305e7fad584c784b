import type { Context } from 'hono'
import type { DashboardAuth } from '../auth/dashboard-auth.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import type { Site } from '../core/types.ts'
import type { LiveView } from '../live/live-view.ts'
import type { Logger } from '../log/logger.ts'
import type { Collector } from '../pipeline/collector.ts'
import type { FilteredStatsReport, RecordProperties } from '../record/filtered-report.ts'
import type { Store } from '../storage/store.ts'

/** Everything the HTTP layer needs, built by an entry (Node server or Lambda). */
export interface AppDeps {
  store: Store
  collector: Collector
  /** Who is on each site right now, and a signal when that changed. */
  live: LiveView
  logger: Logger
  version: string
  /**
   * How many proxies in front append to X-Forwarded-For (TRUST_PROXY): the client is that
   * many entries from its right, and proxy headers (CloudFront-Viewer-Country,
   * X-Forwarded-Proto) are believed only when it is at least 1. 0: no proxy, the socket's
   * peer is the client.
   */
  trustProxy: number
  /**
   * A header the trusted proxy sets to the viewer's address (CLIENT_ADDRESS_HEADER), read
   * for the client's address before X-Forwarded-For; absent or empty: X-Forwarded-For.
   */
  clientAddressHeader?: string
  /**
   * The country of a visitor's address from a database on this machine (the embedded shape,
   * geo/place-lookup.ts), asked when no trusted CDN said it; '' unknown. Absent: the country
   * is the CDN's or unknown (the AWS shape, where CloudFront says it).
   */
  countryOf?: (address: string) => string
  /**
   * X-Origin-Verify values that mark a request as forwarded by the CDN (ORIGIN_SECRETS, or
   * ORIGIN_SECRET_PARAMETER on AWS): set, every other request is refused (origin-check.ts).
   */
  originSecrets?: readonly string[]
  /**
   * The origin browsers use, scheme, host and port (PUBLIC_ORIGIN): printed in the tracker
   * snippet and taken as our own by the same-origin check. Unset: the request's host.
   */
  publicOrigin?: string
  /** The collector's origin for the snippet's `data-api`, when not the tracker's (COLLECTOR_ORIGIN). */
  collectorOrigin?: string
  /** The peer address of the connection, as the runtime reports it. */
  socketAddress: (c: Context) => string | undefined
  /**
   * The request's path as the client sent it, before the runtime's URL parsing resolved dot
   * segments and backslashes (canonical-path.ts); undefined where the runtime keeps none.
   */
  requestPath?: (c: Context) => string | undefined
  auth: DashboardAuth
  /** The clock every read route uses ("now", "today", the last 5 minutes). */
  now: () => number
  /** How long a stats answer may be served from cache; 0 turns caching off. */
  statsCacheMs: number
  /**
   * The record's report for filtered and property queries, when the shape keeps something
   * faster than reading the store (the embedded server's columns, record/record-columns.ts).
   */
  recordReport?: (query: StatsQuery) => Promise<FilteredStatsReport>
  /**
   * The record's property part of an unfiltered `props=KEY` query, when the shape has a pass
   * faster than the whole record report (the embedded columns); the counters answer the rest.
   */
  recordProperties?: (query: StatsQuery) => Promise<RecordProperties>
  /** The built browser tracker for `GET /liveinsight.js`; undefined while it is not built. */
  trackerScript: () => string | undefined
  /**
   * Whether the dashboard's live panel subscribes to pushes (SSE; the default) or polls every
   * 3 s: a store shared by many processes (the DynamoDB shape) has no one process that sees
   * every event to push from.
   */
  livePush?: boolean
  /** A Bearer token that opens `GET /metrics` only (METRICS_TOKEN); a dashboard sign-in also does. */
  metricsToken?: string
}

/**
 * AppDeps with the store narrowed to the roles one route calls: what a route may do to
 * storage is read from its signature.
 */
export type RouteDeps<Roles> = Omit<AppDeps, 'store'> & { store: Roles }

export interface AppEnv {
  Variables: {
    requestId: string
    log: Logger
    site: Site
  }
}
