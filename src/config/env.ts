import { z } from 'zod'

/**
 * Every setting LiveInsight reads from the environment, parsed and typed once at start-up.
 * `.env.example` documents each variable; an invalid value stops start-up with a message
 * naming the variable, so a typo never silently falls back to a default.
 */
const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'must be true or false',
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const intFromEnv = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))

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
  TRUST_PROXY: booleanFromEnv.default(false),
  /** Dashboard password; when unset one is generated on first start and printed once. */
  ADMIN_PASSWORD: z.string().min(8, { error: 'must be at least 8 characters' }).optional(),
  /** How long /api/stats answers are cached; 0 turns the cache off (benchmarks). */
  STATS_CACHE_SECONDS: intFromEnv(0, 3600).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Live visitors and sessions the live view keeps one by one, all sites together; past a
   * site's share its live counts become marked estimates (live/live-window.ts).
   */
  LIVE_BUDGET_ENTRIES: intFromEnv(100, 10_000_000).default(100_000),
  /** SQLite `synchronous` pragma: FULL survives power loss, NORMAL survives a process crash. */
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
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
