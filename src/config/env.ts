import { z } from 'zod'

/**
 * Every setting LiveInsight reads from the environment, parsed and typed once at start-up.
 * `.env.example` documents each variable; an invalid value stops start-up with a message
 * naming the variable, so a typo never silently falls back to a default.
 */
const intFromEnv = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

/**
 * TRUST_PROXY: how many proxies stand in front. true/yes means one (the usual reverse proxy),
 * false/no means none; so a value from before it took a count keeps its meaning.
 */
const proxyHopsFromEnv = z
  .string()
  .regex(/^(true|false|yes|no|\d+)$/, {
    error: 'must be true, false or how many proxies are in front (0-10)',
  })
  .transform((v) => (v === 'true' || v === 'yes' ? 1 : v === 'false' || v === 'no' ? 0 : Number(v)))
  .pipe(z.number().int().min(0).max(10, { error: 'at most 10 proxies' }))

/**
 * ORIGIN_SECRETS: one or two values, comma- or newline-separated (SSM keeps them one a line).
 * Two while a rotation is under way: the CDN sends either until its new configuration has
 * reached every edge. A short value could be guessed, so at least 32 characters.
 */
const originSecretsFromEnv = z
  .string()
  .transform((v) => v.split(/[\s,]+/).filter((s) => s !== ''))
  .pipe(
    z
      .array(
        z.string().regex(/^[\x21-\x7e]{32,256}$/, {
          error: 'each must be 32-256 printable characters without spaces or commas',
        }),
      )
      .min(1)
      .max(2, { error: 'at most two: the current one and the previous one during a rotation' }),
  )

/**
 * PUBLIC_ORIGIN: scheme, host and port only. Behind a CDN the app sees the origin server's
 * host (API Gateway's execute-api name), not the one browsers use.
 */
const publicOriginFromEnv = z
  .string()
  .refine(
    (v) => {
      try {
        const url = new URL(v)
        return (
          (url.protocol === 'https:' || url.protocol === 'http:') &&
          url.pathname === '/' &&
          !url.search &&
          !url.hash &&
          !url.username
        )
      } catch {
        return false
      }
    },
    { error: 'must be an origin such as https://d111111abcdef8.cloudfront.net (no path)' },
  )
  .transform((v) => new URL(v).origin)

const EnvSchema = z.object({
  PORT: intFromEnv(0, 65535).default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  API_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, {
      error: 'must be 16-128 characters of letters, digits, _ or -',
    })
    .optional(),
  EVENT_TTL_HOURS: intFromEnv(1, 24 * 365).default(24),
  SESSION_TIMEOUT_MINUTES: intFromEnv(1, 24 * 60).default(30),
  TRUST_PROXY: proxyHopsFromEnv.default(0),
  /**
   * A header a trusted CDN sets to the viewer's address and port, read for the client's
   * address instead of X-Forwarded-For: behind CloudFront, a Lambda function URL sees
   * CloudFront's address, and CloudFront-Viewer-Address is the viewer's. Believed only with
   * TRUST_PROXY of at least 1. Empty: X-Forwarded-For, as TRUST_PROXY says.
   */
  CLIENT_ADDRESS_HEADER: z.enum(['', 'cloudfront-viewer-address']).default(''),
  /**
   * Values of X-Origin-Verify that mark a request as one the CDN forwarded (the AWS shape reads
   * them from ORIGIN_SECRET_PARAMETER instead). Set: a request without one is refused before
   * anything else reads it, so a caller that skips the CDN and its WAF cannot choose its
   * address through TRUST_PROXY. Unset: no check (the embedded shape on its own).
   */
  ORIGIN_SECRETS: originSecretsFromEnv.optional(),
  /**
   * The origin browsers use (the CDN's or the custom domain's): what the dashboard prints in
   * the tracker snippet, and an Origin header the same-origin check takes as our own. Unset:
   * the request's own host.
   */
  PUBLIC_ORIGIN: publicOriginFromEnv.optional(),
  /**
   * Where the tracker sends events when that is not where it is served from: the AWS shape's
   * collector behind an HTTP API of its own (infra/terraform/collector_api.tf). The snippet
   * the dashboard prints then carries it as `data-api`. Unset or empty: the tracker's own
   * origin.
   */
  COLLECTOR_ORIGIN: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(publicOriginFromEnv.optional()),
  /**
   * An MMDB city database of the operator's own (GeoLite2-City.mmdb, DB-IP's city lite): it
   * answers the embedded server's country lookups first, and region and city with them. Unset:
   * countries from the database shipped on npm. A file that cannot be opened stops start-up.
   */
  GEO_CITY_DATABASE: z.string().optional(),
  /** Dashboard password; when unset one is generated on first start and printed once. */
  ADMIN_PASSWORD: z.string().min(8, { error: 'must be at least 8 characters' }).optional(),
  /**
   * A Bearer token that opens GET /metrics and nothing else, for a Prometheus scraper; a
   * dashboard sign-in opens it too. Unset: only a dashboard sign-in does.
   */
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,256}$/, {
      error: 'must be 16-256 printable characters without spaces',
    })
    .optional(),
  /** How long /api/stats answers are cached; 0 turns the cache off (benchmarks). */
  STATS_CACHE_SECONDS: intFromEnv(0, 3600).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * json or pretty; unset: pretty on a terminal, JSON lines otherwise (log/log-output.ts).
   * The Lambda functions log JSON whatever it says.
   */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /**
   * Live visitors and sessions the live view keeps one by one, all sites together; past a
   * site's share its live counts become marked estimates (live/live-window.ts).
   */
  LIVE_BUDGET_ENTRIES: intFromEnv(100, 10_000_000).default(100_000),
  /**
   * Memory for the record's closed days held as columns, all sites together, in MB
   * (record/record-columns.ts); 0 turns them off. Past it a site's filtered stats read SQLite.
   */
  RECORD_MEMORY_MB: intFromEnv(0, 1_000_000).default(1024),
  /**
   * Worker threads that scan those columns for a filtered report, at most one per core
   * (record/scan-pool.ts); 0 scans on the HTTP thread, which then waits for the scan.
   */
  RECORD_SCAN_THREADS: intFromEnv(0, 64).default(4),
  /** SQLite `synchronous` pragma: FULL survives power loss, NORMAL survives a process crash. */
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /**
   * How long a stopping server lets requests under way finish before it closes their
   * connections; what they handed over is still committed and rolled up (entry/http-server.ts).
   */
  SHUTDOWN_TIMEOUT_SECONDS: intFromEnv(0, 3600).default(10),
  /**
   * Requests a minute each client address may send to POST /api/events (an IPv6 client by
   * its /64), as the original plan asks; a tracker sends about a dozen. 0 turns it off
   * (benchmarks, trusted server-side senders).
   */
  RATE_LIMIT_PER_MINUTE: intFromEnv(0, 1_000_000).default(1000),
  /**
   * Work that may wait for its commit before the collector sheds requests with 503: requests,
   * and their bodies in MB. About two seconds of the batch benchmark's load, so a commit
   * stall of that long is absorbed and a flood past it costs bounded memory (README, Limits).
   */
  MAX_PENDING_REQUESTS: intFromEnv(1, 1_000_000).default(10_000),
  MAX_PENDING_MB: intFromEnv(1, 4096).default(32),
  /**
   * How long a write waits for SQLite's write lock held by another connection before it
   * fails (an ingest request then answers 503 with Retry-After, the roll-up retries). The
   * server's own writers hold the lock for well under a second; the wait rides over them and
   * over a short outside hold (an operator's sqlite3 session), so trackers are not sent back
   * to retry for nothing. Tests shorten it to see a locked database fail fast.
   */
  SQLITE_BUSY_TIMEOUT_MS: intFromEnv(0, 600_000).default(5000),
  /**
   * For tests only: caps the database file at this many pages (SQLite's max_page_count, 4 KiB
   * each) on every connection of the server, so a test can fill it and see writes fail as on
   * a full disk (SQLITE_FULL). Unset in production: the disk is the limit.
   */
  SQLITE_MAX_PAGE_COUNT: intFromEnv(1, 4_294_967_294).optional(),
})

export type Config = z.infer<typeof EnvSchema>

/** Every variable parseConfig reads (Terraform sets the functions' from this list's). */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape) as Array<keyof Config>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** Parses the environment; empty strings count as unset so `.env` templates can leave blanks. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  )
  const result = EnvSchema.safeParse(present)
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    )
  }
  return result.data
}
