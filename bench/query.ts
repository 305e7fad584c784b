/**
 * Query benchmark (`npm run bench:query`).
 *
 * 1. LOAD: on a fresh DATA_DIR, opens the real SqliteStore (synchronous NORMAL) and loads a
 *    month of synthetic traffic (`bench/event-world.ts`) through the store layer in batches, in
 *    time order: one big site (BENCH_EVENTS, default 10M, UTC) and two noise sites
 *    (BENCH_NOISE_EVENTS each, default 200k, other time zones). A month of history is what
 *    `HistoryImport` is for (the collector refuses events over 24 hours old);
 *    BENCH_LOAD_PATH=commit loads through the collector's pipeline (`acceptAndRollUp`) instead.
 *    Measures the load rate and the database size; then runs one sweep, as the server does at
 *    start, so the server sees the steady-state shape (raw events of the last EVENT_TTL_HOURS
 *    only). The gap between the load's end and now is then filled through `acceptAndRollUp`.
 * 2. QUERY: starts the real server as `npm start` runs it (dist/server, rebuilt first) in a child process
 *    with the stats cache off, signs in, and times /api/stats for several periods and
 *    filters over HTTP (BENCH_RUNS runs after BENCH_WARMUP warm-ups), plus /api/realtime when
 *    that route exists. Samples the server's RSS.
 * 3. DIAGNOSE: in-process, the same reports without HTTP, the time and rows of every
 *    breakdown, and SQLite's query plans, to tell where a slow answer spends its time.
 *
 * Results: bench/results/query.json. Exit code 0 only when every target is met.
 * BENCH_BEFORE=<file> copies an earlier run's results file in as `before` (its commit, p95s,
 * memory and storage), so one file shows a change's before and after.
 * BENCH_DATA_DIR=<dir> keeps the loaded database there and reuses it on the next run (for
 * iterating on the query phase); by default everything lives in a temp dir that is removed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { addDays, hourBucket, localDay } from '../src/core/calendar.ts'
import { buildStatsQuery, type StatsFilter, StatsParamsSchema } from '../src/core/stats-query.ts'
import type { EnrichedEvent, Site } from '../src/core/types.ts'
import { HistoryImport } from '../src/import/history-import.ts'
import { BREAKDOWNS } from '../src/queries/breakdowns.ts'
import { filteredRows } from '../src/queries/period-counters.ts'
import { statsReport } from '../src/queries/stats-report.ts'
import { ColumnsSnapshots } from '../src/record/columns-snapshot.ts'
import { RecordColumns } from '../src/record/record-columns.ts'
import { rollupOptions } from '../src/rollup/rollup-options.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { acceptAndRollUp } from '../src/testing/accept-and-roll-up.ts'
import { mergeByTime, SiteTraffic } from './event-world.ts'
import { builtServerArgs } from './support/built-server.ts'
import { cleanupOnExit } from './support/cleanup.ts'
import { ProcessSampler } from './support/process-sampler.ts'

// BENCH_STORE=dynamodb: the same questions of the DynamoDB store (bench/dynamodb-query.ts).
if (process.env.BENCH_STORE === 'dynamodb') {
  await import('./dynamodb-query.ts')
  process.exit(0)
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'query.json')
const HOST = '127.0.0.1'
const ADMIN_PASSWORD = 'bench-query-password'

function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw.replace(/_/g, ''))
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`)
  return value
}

const SETTINGS = {
  bigEvents: envInt('BENCH_EVENTS', 10_000_000),
  noiseEvents: envInt('BENCH_NOISE_EVENTS', 200_000),
  // A loader batches: 50,000 events per commit fold repeated counter rows together.
  batchSize: envInt('BENCH_BATCH', 50_000),
  runs: envInt('BENCH_RUNS', 50),
  warmup: envInt('BENCH_WARMUP', 3),
  /** Fewer days with fewer events keep 10M/30d's density for quick profiling runs. */
  days: envInt('BENCH_DAYS', 30),
  sessionTimeoutMinutes: 30,
  /** The server's RECORD_MEMORY_MB: enough for the big site's record at 10M events. */
  recordMemoryMb: envInt('BENCH_RECORD_MEMORY_MB', 4096),
  /** The server's default EVENT_TTL_HOURS: what the start-up sweep keeps. */
  eventTtlHours: 24,
  /**
   * How the month is loaded: `import` (default) through HistoryImport, the path for history
   * older than the collector accepts; `commit` through acceptAndRollUp, the collector's own
   * two stages, to compare the two.
   */
  loadPath: loadPathSetting(),
} as const

function loadPathSetting(): 'import' | 'commit' {
  const raw = process.env.BENCH_LOAD_PATH ?? 'import'
  if (raw !== 'import' && raw !== 'commit')
    throw new Error('BENCH_LOAD_PATH must be import or commit')
  return raw
}

const TARGETS = { loadEventsPerS: 100_000, statsP95Ms: 50, recordP95Ms: 300 } as const
const GLOBAL_LIMIT_MS = 3 * 3600_000
const RSS_SAMPLE_MS = 100

// ---------------------------------------------------------------------------------------------
// Cleanup: children and temp dirs are registered and removed on any way out.

const { children, tempDirs, cleanupSync } = cleanupOnExit(GLOBAL_LIMIT_MS)
const SERVER_ARGS = builtServerArgs()

const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1)
const log = (line: string) => process.stdout.write(`${line}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Sites.

interface SitePlan {
  site: Site
  events: number
  seed: number
}

function sitePlans(now: number): SitePlan[] {
  const site = (id: string, name: string, domain: string, timezone: string): Site => ({
    id,
    name,
    domain,
    timezone,
    api_key: `li_${randomBytes(18).toString('base64url')}`,
    created_at: now - SETTINGS.days * 86_400_000,
  })
  return [
    {
      site: site('big', 'Big Shop', 'www.bigshop.example', 'UTC'),
      events: SETTINGS.bigEvents,
      seed: 1,
    },
    {
      site: site('noise-berlin', 'Berlin Blog', 'blog.berlin.example', 'Europe/Berlin'),
      events: SETTINGS.noiseEvents,
      seed: 2,
    },
    {
      site: site('noise-la', 'LA Docs', 'docs.la.example', 'America/Los_Angeles'),
      events: SETTINGS.noiseEvents,
      seed: 3,
    },
  ]
}

// ---------------------------------------------------------------------------------------------
// Phase 1: load through the store layer.

interface LoadResult {
  sites: Array<{ id: string; timezone: string; events: number; sessions: number }>
  events: number
  /** Time spent inside the store layer (HistoryImport or acceptAndRollUp): its rate. */
  commit_seconds: number
  events_per_s: number
  /** Time spent producing the synthetic events (not part of the rate). */
  generate_seconds: number
  wall_seconds: number
  /** Commit rate of each successive tenth of the load: does it degrade as tables grow? */
  events_per_s_by_tenth: number[]
  /** The loading process's peak RSS (the store may keep per-day state in memory). */
  loader_max_rss_mb: number
  popular_page: string
}

/** As the server rolls up: the session timeout and its time-first session ids. */
function commitOptions() {
  return rollupOptions(SETTINGS.sessionTimeoutMinutes * 60_000)
}

/** The store-layer loader the bench measures: one batch at a time, then `finish`. */
function loader(store: SqliteStore, now: number) {
  const options = commitOptions()
  if (SETTINGS.loadPath === 'commit') {
    return {
      add: async (batch: EnrichedEvent[]) =>
        void (await acceptAndRollUp(store, batch, [], options)),
      finish: async () => {},
    }
  }
  const history = new HistoryImport(store, {
    ...options,
    eventTtlMs: SETTINGS.eventTtlHours * 3_600_000,
    now,
  })
  return {
    add: (batch: EnrichedEvent[]) => history.add(batch),
    finish: async () => void (await history.finish()),
  }
}

function takeBatch(stream: Iterator<EnrichedEvent>, size: number): EnrichedEvent[] {
  const batch: EnrichedEvent[] = []
  while (batch.length < size) {
    const next = stream.next()
    if (next.done) break
    batch.push(next.value)
  }
  return batch
}

async function loadEvents(
  file: string,
  plans: readonly SitePlan[],
  now: number,
): Promise<LoadResult> {
  // The page cache `npm run import` uses: the load is a history import.
  // As `npm run import` opens it: writes on their own thread (only an import overlaps them).
  const store = new SqliteStore({
    file,
    synchronous: 'NORMAL',
    cacheMb: 16,
    commitThread: SETTINGS.loadPath === 'import',
  })
  for (const plan of plans) await store.createSite(plan.site)
  // As the server does at start: the sweep also tells the roll-up which hours are past
  // keeping hourly dimension rows for (most of a month of history is).
  await store.sweep({ now, eventTtlMs: SETTINGS.eventTtlHours * 3_600_000 })
  const from = now - SETTINGS.days * 86_400_000
  // A minute of slack so no event is in the future by the time the server answers.
  const to = now - 60_000
  const streams = plans.map(
    (p) => new SiteTraffic({ site: p.site, events: p.events, from, to, seed: p.seed }),
  )
  const total = plans.reduce((sum, p) => sum + p.events, 0)
  const load = loader(store, now)
  const merged = mergeByTime(streams)
  const tenth = Math.max(1, Math.ceil(total / 10))
  const byTenth: number[] = []
  let loaded = 0
  let commitMs = 0
  let generateMs = 0
  let tenthMs = 0
  let tenthEvents = 0
  const started = performance.now()
  for (;;) {
    const g0 = performance.now()
    const batch = takeBatch(merged, SETTINGS.batchSize)
    generateMs += performance.now() - g0
    const c0 = performance.now()
    if (batch.length === 0) {
      await load.finish()
      commitMs += performance.now() - c0
      break
    }
    await load.add(batch)
    const ms = performance.now() - c0
    commitMs += ms
    tenthMs += ms
    loaded += batch.length
    tenthEvents += batch.length
    if (tenthEvents >= tenth) {
      byTenth.push(round(tenthEvents / (tenthMs / 1000)))
      log(
        `  ${(loaded / 1e6).toFixed(2)}M events: ${round(tenthEvents / (tenthMs / 1000))} events/s ` +
          `(overall ${round(loaded / (commitMs / 1000))}, generation ${round(generateMs / 1000, 1)} s)`,
      )
      tenthMs = 0
      tenthEvents = 0
    }
  }
  if (tenthEvents > 0) byTenth.push(round(tenthEvents / (tenthMs / 1000)))
  await store.close()
  const big = streams[0] as SiteTraffic
  return {
    sites: streams.map((s, i) => ({
      id: s.site.id,
      timezone: s.site.timezone,
      events: (plans[i] as SitePlan).events,
      sessions: s.sessionsStarted,
    })),
    events: loaded,
    commit_seconds: round(commitMs / 1000, 1),
    events_per_s: round(loaded / (commitMs / 1000)),
    generate_seconds: round(generateMs / 1000, 1),
    wall_seconds: round((performance.now() - started) / 1000, 1),
    events_per_s_by_tenth: byTenth,
    loader_max_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    // The second most popular page: a real product page rather than the home page.
    popular_page: big.paths[1] as string,
  }
}

interface TopUp {
  events: number
  from: string
  to: string
}

/**
 * Fills the gap between the last loaded event and now (the load itself takes minutes) at the
 * same density, so the "24h" period and the realtime window hold what a live site would.
 */
async function topUp(file: string, siteId: string, eventsPerDay: number): Promise<TopUp> {
  const db = new Database(file, { readonly: true })
  const last = db
    .prepare('SELECT max(timestamp) FROM events WHERE site_id = ?')
    .pluck()
    .get(siteId) as number | null
  db.close()
  const from = (last ?? Date.now()) + 1000
  const to = Date.now() - 5000
  const events = Math.round((eventsPerDay * Math.max(0, to - from)) / 86_400_000)
  const span = { from: new Date(from).toISOString(), to: new Date(to).toISOString() }
  if (events === 0) return { events, ...span }
  const store = new SqliteStore({ file, synchronous: 'NORMAL' })
  try {
    const site = await store.getSite(siteId)
    if (!site) throw new Error(`no site ${siteId}`)
    const stream = new SiteTraffic({ site, events, from, to, seed: 4 })
    const merged = mergeByTime([stream])
    for (;;) {
      const batch = takeBatch(merged, SETTINGS.batchSize)
      if (batch.length === 0) break
      await acceptAndRollUp(store, batch, [], commitOptions())
    }
  } finally {
    await store.close()
  }
  return { events, ...span }
}

// ---------------------------------------------------------------------------------------------
// Storage size.

interface StorageStats {
  db_bytes: number
  wal_bytes: number
  page_size: number
  free_pages: number
  rows: Record<string, number>
  /** Bytes per table and index (SQLite's dbstat), when that virtual table is available. */
  objects?: Record<string, number>
}

function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0
}

/** Checkpoints the WAL into the database (TRUNCATE empties it), then measures. */
function storageStats(file: string, withObjects: boolean): StorageStats {
  const db = new Database(file)
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
    // Every table the schema has now: the storage layer is being reworked concurrently.
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[]
    const rows: Record<string, number> = {}
    for (const table of tables) {
      rows[table] = db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number
    }
    const stats: StorageStats = {
      db_bytes: fileSize(file),
      wal_bytes: fileSize(`${file}-wal`),
      page_size: db.pragma('page_size', { simple: true }) as number,
      free_pages: db.pragma('freelist_count', { simple: true }) as number,
      rows,
    }
    if (withObjects) {
      try {
        const objects = db
          .prepare(
            'SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC',
          )
          .all() as Array<{ name: string; bytes: number }>
        stats.objects = Object.fromEntries(objects.map((o) => [o.name, o.bytes]))
      } catch {
        // dbstat is a compile-time option; the totals above are enough without it.
      }
    }
    return stats
  } finally {
    db.close()
  }
}

interface SweepStats {
  seconds: number
  removed: Record<string, number>
  used_bytes_after: number
}

/** The sweep the server runs at start (and every 5 min), timed here so the server starts fast. */
async function sweepOnce(file: string): Promise<SweepStats> {
  const store = new SqliteStore({ file, synchronous: 'NORMAL' })
  const started = performance.now()
  const removed = await store.sweep({
    now: Date.now(),
    eventTtlMs: SETTINGS.eventTtlHours * 3_600_000,
  })
  const seconds = round((performance.now() - started) / 1000, 1)
  await store.close()
  const after = storageStats(file, false)
  return {
    seconds,
    removed: { ...removed },
    used_bytes_after: after.db_bytes + after.wal_bytes - after.free_pages * after.page_size,
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the real server over HTTP.

interface ServerProcess {
  pid: number
  url: string
  /** Handler time per request id, from the server's own `request` log lines. */
  serverMs: Map<string, number>
  /**
   * Per site: the server's own "record's columns loaded" line (it loads them at start, in the
   * background: record/warm-columns.ts), or why it did not.
   */
  columns: Map<string, { ms?: number; sessions?: number; bytes?: number; failed?: string }>
  /** When the server was started (performance.now()). */
  startedAt: number
  /** When each of the server's sweeps (at start, then every 5 minutes) ended, ms since started. */
  sweeps: number[]
  stop: () => Promise<void>
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** Spawns the built server (as `npm start` runs it) and resolves with the URL of its `listening` log line. */
function startServer(dataDir: string, cwd: string): Promise<ServerProcess> {
  const startedAt = performance.now()
  const child = spawn(process.execPath, SERVER_ARGS, {
    // cwd is a temp dir so no stray `.env` changes the configuration.
    cwd,
    env: {
      ...process.env,
      HOST,
      PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_PASSWORD,
      STATS_CACHE_SECONDS: '0',
      // One address sends everything here: a limit would measure 429s, not the collector.
      RATE_LIMIT_PER_MINUTE: '0',
      // info, not warn: the `listening` line is an info line. One request line per call costs
      // microseconds and is what production runs with.
      LOG_LEVEL: 'info',
      SQLITE_SYNCHRONOUS: 'NORMAL',
      EVENT_TTL_HOURS: String(SETTINGS.eventTtlHours),
      RECORD_MEMORY_MB: String(SETTINGS.recordMemoryMb),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384)
  })
  const stop = async () => {
    if (!exited(child)) {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(timer)
    }
    children.delete(child)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`server did not start in 5 min:\n${stderr}`))
    }, 5 * 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`))
    })
    const serverMs = new Map<string, number>()
    const columns: ServerProcess['columns'] = new Map()
    const sweeps: number[] = []
    // Every stdout line is read so the pipe never fills up; request lines keep their timing.
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{"')) return
      const entry = JSON.parse(line) as {
        msg?: string
        url?: string
        req_id?: string
        ms?: number
        site?: string
        sessions?: number
        bytes?: number
      }
      if (entry.msg === 'request' && entry.req_id && typeof entry.ms === 'number') {
        serverMs.set(entry.req_id, entry.ms)
      } else if (entry.msg === "record's columns loaded" && entry.site) {
        columns.set(entry.site, {
          ...(entry.ms === undefined ? {} : { ms: entry.ms }),
          ...(entry.sessions === undefined ? {} : { sessions: entry.sessions }),
          ...(entry.bytes === undefined ? {} : { bytes: entry.bytes }),
        })
      } else if (entry.site && entry.msg?.includes("record's columns")) {
        columns.set(entry.site, { failed: entry.msg })
      } else if (entry.msg === 'sweep' || entry.msg === 'sweep failed') {
        sweeps.push(Math.round(performance.now() - startedAt))
      } else if (entry.msg === 'listening' && entry.url && child.pid !== undefined) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ pid: child.pid, url: entry.url, serverMs, columns, startedAt, sweeps, stop })
      }
    })
  })
}

async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: ADMIN_PASSWORD }),
  })
  const body = (await response.json()) as { data?: { token?: string } }
  if (!response.ok || !body.data?.token) throw new Error(`sign-in failed: ${response.status}`)
  return body.data.token
}

interface Endpoint {
  name: string
  path: string
  /**
   * Unfiltered stats (the counters) and the record's answers (filters, props) are held to
   * their p95 targets; realtime is measured when it exists.
   */
  kind: 'stats' | 'record' | 'realtime'
}

function endpoints(siteId: string, popularPage: string): Endpoint[] {
  const stats = (name: string, query: string): Endpoint => ({
    name,
    path: `/api/stats?site=${siteId}&${query}`,
    kind: 'stats',
  })
  const filter = (f: string) => `filter=${encodeURIComponent(f)}`
  // Filters and props are the record's (issue 26): the first of them after the server starts
  // also loads the record's closed days into memory (its `first_ms`).
  const record = (name: string, query: string): Endpoint => ({
    ...stats(name, query),
    kind: 'record',
  })
  return [
    stats('stats_24h', 'period=24h'),
    stats('stats_7d', 'period=7d'),
    stats('stats_30d', 'period=30d'),
    record('stats_30d_page', `period=30d&${filter(`page:${popularPage}`)}`),
    record('stats_30d_source', `period=30d&${filter('source:Google')}`),
    record(
      'stats_30d_two',
      `period=30d&${filter(`page:${popularPage}`)}&${filter('source:Google')}`,
    ),
    record('stats_30d_event', `period=30d&${filter('event:signup')}`),
    record('stats_30d_props', 'period=30d&props=plan'),
    record('stats_30d_source_cmp', `period=30d&compare=previous&${filter('source:Google')}`),
    { name: 'realtime', path: `/api/realtime?site=${siteId}`, kind: 'realtime' },
  ]
}

interface Timing {
  ms: number
  status: number
  body: string
}

/** `requestId` is echoed into the server's log line, which tells the server-side time. */
async function timedGet(url: string, token: string, requestId: string): Promise<Timing> {
  const started = performance.now()
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
  })
  const body = await response.text()
  return { ms: performance.now() - started, status: response.status, body }
}

interface EndpointResult {
  path: string
  /** The first (warm-up) call: for the first record query, with the record's load. */
  first_ms: number
  /** When the timed runs began and ended, ms since the server was started (see `sweeps`). */
  timed_ms: [number, number]
  runs: number
  p50_ms: number
  p95_ms: number
  max_ms: number
  mean_ms: number
  /** The same runs as the server logged them (handler time, without the client side). */
  server_p50_ms: number
  server_p95_ms: number
  /** Each timed run's client-side ms, in the order run: where a slow tail falls. */
  samples_ms: number[]
  response_bytes: number
  /** Sanity check that the timed answer is real: the period's page views. */
  pageviews?: number
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

function summarize(
  samples: readonly number[],
): Pick<EndpointResult, 'p50_ms' | 'p95_ms' | 'max_ms' | 'mean_ms'> {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    p50_ms: round(percentile(sorted, 0.5), 1),
    p95_ms: round(percentile(sorted, 0.95), 1),
    max_ms: round(sorted.at(-1) ?? Number.NaN, 1),
    mean_ms: round(sorted.reduce((s, v) => s + v, 0) / sorted.length, 1),
  }
}

function pageviewsOf(body: string): number | undefined {
  const parsed = JSON.parse(body) as { data?: { summary?: { pageviews?: { value?: number } } } }
  return parsed.data?.summary?.pageviews?.value
}

/** Warm-up then timed runs, one request at a time; `skipped` when the route does not exist. */
async function measureEndpoint(
  server: ServerProcess,
  token: string,
  endpoint: Endpoint,
): Promise<EndpointResult | { skipped: string }> {
  const url = `${server.url}${endpoint.path}`
  const first = await timedGet(url, token, `${endpoint.name}-warmup-0`)
  const firstMs = round(first.ms, 1)
  if (first.status === 404 && endpoint.kind === 'realtime') {
    return { skipped: `404: ${first.body.slice(0, 120)}` }
  }
  if (first.status !== 200) throw new Error(`${endpoint.path}: ${first.status} ${first.body}`)
  for (let i = 1; i < SETTINGS.warmup; i++)
    await timedGet(url, token, `${endpoint.name}-warmup-${i}`)
  const samples: number[] = []
  const ids: string[] = []
  const timedFrom = Math.round(performance.now() - server.startedAt)
  let last = first
  for (let i = 0; i < SETTINGS.runs; i++) {
    ids.push(`${endpoint.name}-run-${i}`)
    last = await timedGet(url, token, ids[i] as string)
    if (last.status !== 200) throw new Error(`${endpoint.path}: ${last.status} ${last.body}`)
    samples.push(last.ms)
  }
  // The log line is written after the answer; give the pipe a moment to deliver the last one.
  await sleep(200)
  const logged = summarize(
    ids.map((id) => server.serverMs.get(id) ?? Number.NaN).filter(Number.isFinite),
  )
  const pageviews = endpoint.kind !== 'realtime' ? pageviewsOf(last.body) : undefined
  return {
    path: endpoint.path,
    first_ms: firstMs,
    timed_ms: [timedFrom, Math.round(performance.now() - server.startedAt)],
    runs: samples.length,
    ...summarize(samples),
    server_p50_ms: logged.p50_ms,
    server_p95_ms: logged.p95_ms,
    samples_ms: samples.map((ms) => round(ms, 1)),
    response_bytes: Buffer.byteLength(last.body),
    ...(pageviews === undefined ? {} : { pageviews }),
  }
}

interface QueryPhase {
  server_start_seconds: number
  /**
   * How long after listening the server had loaded every site's record columns by itself
   * (null: not within the wait), and each site's load as the server logged it. Timing starts
   * after that, so the load does not share the CPU with the timed requests.
   */
  record_columns_warm_seconds: number | null
  record_columns_warm: Record<
    string,
    { ms?: number; sessions?: number; bytes?: number; failed?: string }
  >
  max_server_rss_mb: number
  /** When the server's sweeps ended, ms since it was started (each endpoint's `timed_ms`). */
  sweeps_ended_ms: number[]
  endpoints: Record<string, EndpointResult | { skipped: string }>
}

/** Seconds until the server logged every site's columns as loaded (or not), null past 30 min. */
async function columnsWarmed(server: ServerProcess, sites: readonly string[]) {
  const started = performance.now()
  while (sites.some((site) => !server.columns.has(site))) {
    if (performance.now() - started > 30 * 60_000) return null
    await sleep(250)
  }
  return round((performance.now() - started) / 1000, 1)
}

async function queryPhase(
  dataDir: string,
  cwd: string,
  list: readonly Endpoint[],
  sites: readonly string[],
): Promise<QueryPhase> {
  const started = performance.now()
  const server = await startServer(dataDir, cwd)
  const serverStart = round((performance.now() - started) / 1000, 2)
  const rss = new ProcessSampler(server.pid, RSS_SAMPLE_MS)
  try {
    const warmed = await columnsWarmed(server, sites)
    log(`  record columns loaded at start in ${warmed ?? 'more than the wait of'} s`)
    const token = await signIn(server.url)
    const results: QueryPhase['endpoints'] = {}
    for (const endpoint of list) {
      const result = await measureEndpoint(server, token, endpoint)
      results[endpoint.name] = result
      log(
        'skipped' in result
          ? `  ${endpoint.name.padEnd(17)} skipped (${result.skipped.slice(0, 60)})`
          : `  ${endpoint.name.padEnd(17)} p50 ${result.p50_ms} ms  p95 ${result.p95_ms} ms  max ${result.max_ms} ms`,
      )
    }
    return {
      server_start_seconds: serverStart,
      record_columns_warm_seconds: warmed,
      record_columns_warm: Object.fromEntries(server.columns),
      max_server_rss_mb: rss.stop(),
      sweeps_ended_ms: [...server.sweeps],
      endpoints: results,
    }
  } finally {
    rss.stop()
    await server.stop()
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 3: where the time goes, without HTTP.

interface Diagnostics {
  /** The whole report in-process (no HTTP, no JSON): p50 ms per stats endpoint. */
  report_p50_ms: Record<string, number>
  /** Per breakdown table: rollup rows read and p50 ms of its topValues call. */
  breakdowns_30d: Record<string, { rows: number; values: number; p50_ms: number }>
  breakdowns_24h: Record<string, { rows: number; values: number; p50_ms: number }>
  /** A filter reads one value, but the key (site, dim, bucket, value) makes it scan them all. */
  filters_30d: Record<string, { rows_scanned: number; rows_returned: number; p50_ms: number }>
  query_plans: Record<string, string[]>
  /** The record's columns in this process (RecordColumns): their load, size and scans. */
  record_columns: {
    load_seconds: number
    sessions: number
    events: number
    bytes: number
    bytes_per_million_sessions: number
    report_p50_ms: Record<string, number>
    /** The first call of each after the load's (the page filter's is the load's call). */
    report_first_ms: Record<string, number>
  }
}

const DIAG_RUNS = 15

async function p50Of(run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < DIAG_RUNS; i++) {
    const started = performance.now()
    await run()
    samples.push(performance.now() - started)
  }
  return round(
    percentile(
      [...samples].sort((a, b) => a - b),
      0.5,
    ),
    2,
  )
}

function statsQueryOf(siteId: string, query: string, timezone: string) {
  const search = new URLSearchParams(query)
  const params = StatsParamsSchema.parse({
    site: siteId,
    ...Object.fromEntries(search),
    // Repeated, as the HTTP route reads it (fromEntries keeps the last one only).
    filter: search.getAll('filter'),
  })
  return buildStatsQuery(params, timezone, Date.now())
}

/** Rows and distinct values per dimension within a bucket range (what each GROUP BY reads). */
function rowsPerDim(
  db: Database.Database,
  grain: 'hour' | 'day',
  siteId: string,
  from: number | string,
  to: number | string,
): Map<string, { rows: number; values: number }> {
  const rows = db
    .prepare(
      `SELECT dim, count(*) AS rows, count(DISTINCT value) AS n_values FROM rollup_${grain}
       WHERE site_id = ? AND bucket BETWEEN ? AND ? GROUP BY dim`,
    )
    .all(siteId, from, to) as Array<{ dim: string; rows: number; n_values: number }>
  return new Map(rows.map((r) => [r.dim, { rows: r.rows, values: r.n_values }]))
}

type Range =
  | { grain: 'hour'; from: number; to: number }
  | { grain: 'day'; from: string; to: string }
type DimCounts = Map<string, { rows: number; values: number }>

async function breakdownCosts(
  store: SqliteStore,
  counts: DimCounts,
  siteId: string,
  range: Range,
): Promise<Diagnostics['breakdowns_30d']> {
  const out: Diagnostics['breakdowns_30d'] = {}
  for (const def of Object.values(BREAKDOWNS)) {
    const p50 = await p50Of(() =>
      store.topValues({ ...range, site_id: siteId, dim: def.dim, orderBy: def.orderBy, limit: 10 }),
    )
    out[def.dim] = { ...(counts.get(def.dim) ?? { rows: 0, values: 0 }), p50_ms: p50 }
  }
  return out
}

async function filterCosts(
  store: SqliteStore,
  counts: DimCounts,
  siteId: string,
  range: Range,
  popularPage: string,
): Promise<Diagnostics['filters_30d']> {
  const filters: StatsFilter[] = [
    { dim: 'page', value: popularPage },
    { dim: 'source', value: 'Google' },
  ]
  const out: Diagnostics['filters_30d'] = {}
  for (const filter of filters) {
    // A page filter reads the page and the entry_page rows (period-counters.ts).
    const dims = filter.dim === 'page' ? ['page', 'entry_page'] : [filter.dim]
    const rows = await filteredRows(store, siteId, range, filter)
    out[`${filter.dim}:${filter.value}`] = {
      rows_scanned: dims.reduce((sum, dim) => sum + (counts.get(dim)?.rows ?? 0), 0),
      rows_returned: rows.length,
      p50_ms: await p50Of(() => filteredRows(store, siteId, range, filter)),
    }
  }
  return out
}

/** EXPLAIN QUERY PLAN of the statements a stats report runs (SQL mirrors sqlite-store.ts). */
function queryPlans(db: Database.Database, siteId: string, day: string): Record<string, string[]> {
  const plan = (sql: string, ...args: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map(
      (r) => r.detail,
    )
  return {
    topValues_day: plan(
      `SELECT '' AS bucket, dim, value, SUM(pageviews) AS pageviews, SUM(visitors) AS visitors
       FROM rollup_day WHERE site_id = ? AND dim = ? AND bucket BETWEEN ? AND ?
       GROUP BY value HAVING SUM(pageviews) > 0 ORDER BY SUM(pageviews) DESC, value LIMIT ?`,
      siteId,
      'page',
      addDays(day, -29),
      day,
      10,
    ),
    readRollups_day_value: plan(
      `SELECT * FROM rollup_day WHERE site_id = ? AND dim = ? AND bucket BETWEEN ? AND ?
       AND value = ? ORDER BY bucket, value`,
      siteId,
      'page',
      addDays(day, -29),
      day,
      '/pricing',
    ),
  }
}

async function diagnose(
  file: string,
  siteId: string,
  list: readonly Endpoint[],
  popularPage: string,
): Promise<Diagnostics> {
  const store = new SqliteStore({ file, synchronous: 'NORMAL' })
  const db = new Database(file, { readonly: true })
  try {
    const report_p50_ms: Record<string, number> = {}
    for (const endpoint of list.filter((e) => e.kind === 'stats')) {
      const query = statsQueryOf(siteId, endpoint.path.split('?')[1] ?? '', 'UTC')
      report_p50_ms[endpoint.name] = await p50Of(() => statsReport(store, query))
    }
    const now = Date.now()
    const today = localDay(now, 'UTC')
    const hour = hourBucket(now)
    const month: Range = { grain: 'day', from: addDays(today, -29), to: today }
    const day: Range = { grain: 'hour', from: hour - 23, to: hour }
    const monthCounts = rowsPerDim(db, month.grain, siteId, month.from, month.to)
    const dayCounts = rowsPerDim(db, day.grain, siteId, day.from, day.to)
    // The copy the server saved at its start (record-columns/), read back as a restart would;
    // the scan here is on this thread (the server's runs on its scan workers).
    const columns = new RecordColumns(store, {
      maxBytes: SETTINGS.recordMemoryMb * 1024 * 1024,
      sessionTimeoutMs: SETTINGS.sessionTimeoutMinutes * 60_000,
      now: Date.now,
      logger: { info: () => {}, warn: (_fields: object, message: string) => log(message) },
      snapshots: new ColumnsSnapshots(join(dirname(file), 'record-columns')),
    })
    const records = list.filter((e) => e.kind === 'record')
    const queryOf = (e: Endpoint) => statsQueryOf(siteId, e.path.split('?')[1] ?? '', 'UTC')
    const loadStarted = performance.now()
    if (records[0]) await columns.report(queryOf(records[0]))
    const loadSeconds = round((performance.now() - loadStarted) / 1000, 2)
    // The load's call (the page filter's first ask) builds its days too (day-tallies.ts).
    await columns.settled()
    const record_p50_ms: Record<string, number> = {}
    // The first ask of each filter also builds its closed days, in one pass (day-tallies.ts).
    const record_first_ms: Record<string, number> = {}
    for (const endpoint of records) {
      const query = queryOf(endpoint)
      const started = performance.now()
      await columns.report(query)
      record_first_ms[endpoint.name] = round(performance.now() - started, 1)
      // Its closed days were built by the first ask (day-tallies.ts); then the repeats.
      await columns.settled()
      record_p50_ms[endpoint.name] = await p50Of(() => columns.report(query))
    }
    const held = columns.held().find((h) => h.site === siteId)
    const record_columns = {
      load_seconds: loadSeconds,
      sessions: held?.sessions ?? 0,
      events: held?.events ?? 0,
      bytes: held?.bytes ?? 0,
      // Of the bytes: the candidate lists the filters above asked for (candidate-index.ts).
      index_bytes: held?.index_bytes ?? 0,
      // … and the closed days' tallies kept for them (day-tallies.ts).
      day_tally_bytes: held?.day_tally_bytes ?? 0,
      bytes_per_million_sessions: held ? Math.round(held.bytes / (held.sessions / 1e6)) : 0,
      report_p50_ms: record_p50_ms,
      report_first_ms: record_first_ms,
    }
    return {
      report_p50_ms,
      record_columns,
      breakdowns_30d: await breakdownCosts(store, monthCounts, siteId, month),
      breakdowns_24h: await breakdownCosts(store, dayCounts, siteId, day),
      filters_30d: await filterCosts(store, monthCounts, siteId, month, popularPage),
      query_plans: queryPlans(db, siteId, today),
    }
  } finally {
    db.close()
    await store.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestration.

interface Workspace {
  dataDir: string
  /** Where the server runs (no `.env` there). */
  cwd: string
  file: string
  /** A previous run's load, when BENCH_DATA_DIR points at a loaded database. */
  reused?: { load: LoadResult; storage: StorageStats; sweep: SweepStats }
}

function workspace(): Workspace {
  const keep = process.env.BENCH_DATA_DIR
  const cwd = mkdtempSync(join(tmpdir(), 'liveinsight-bench-query-'))
  tempDirs.add(cwd)
  const dataDir = keep ?? join(cwd, 'data')
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'liveinsight.db')
  const saved = join(dataDir, 'bench-load.json')
  if (keep && existsSync(file) && existsSync(saved)) {
    return { dataDir, cwd, file, reused: JSON.parse(readFileSync(saved, 'utf8')) }
  }
  if (existsSync(file)) throw new Error(`${file} exists but has no bench-load.json: remove it`)
  return { dataDir, cwd, file }
}

async function loadPhase(ws: Workspace): Promise<NonNullable<Workspace['reused']>> {
  if (ws.reused) {
    log(`reusing the database in ${ws.dataDir} (${ws.reused.load.events} events)`)
    return ws.reused
  }
  const plans = sitePlans(Date.now())
  const total = plans.reduce((sum, p) => sum + p.events, 0)
  log(`load: ${total} events over ${SETTINGS.days} days, batches of ${SETTINGS.batchSize}`)
  const load = await loadEvents(ws.file, plans, Date.now())
  log(`  loaded in ${load.commit_seconds} s of commits: ${load.events_per_s} events/s`)
  log('  measuring storage (checkpoint, dbstat)…')
  const storage = storageStats(ws.file, true)
  log(`  database ${mb(storage.db_bytes + storage.wal_bytes)} MB; sweeping as the server would…`)
  const sweep = await sweepOnce(ws.file)
  log(`  sweep took ${sweep.seconds} s: ${JSON.stringify(sweep.removed)}`)
  const result = { load, storage, sweep }
  if (process.env.BENCH_DATA_DIR) {
    writeFileSync(join(ws.dataDir, 'bench-load.json'), JSON.stringify(result))
  }
  return result
}

/** Which code was measured: `src/` is edited concurrently, so HEAD alone may not say. */
function srcVersion(): { git_head: string; uncommitted_src_files: string[] } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  try {
    return {
      git_head: git('rev-parse', '--short', 'HEAD').trim(),
      uncommitted_src_files: git('status', '--porcelain', 'src')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    }
  } catch {
    return { git_head: 'unknown', uncommitted_src_files: [] }
  }
}

function pass(measured: number, target: number, atLeast: boolean) {
  return { target, measured, pass: atLeast ? measured >= target : measured <= target }
}

async function main(): Promise<void> {
  const version = srcVersion()
  const ws = workspace()
  const { load, storage, sweep } = await loadPhase(ws)
  const big = load.sites[0]?.id ?? 'big'
  const list = endpoints(big, load.popular_page)
  const topped = await topUp(ws.file, big, SETTINGS.bigEvents / SETTINGS.days)
  log(`top-up: ${topped.events} more events for ${big} from ${topped.from} to ${topped.to}`)
  log(`query: ${SETTINGS.warmup} warm-up + ${SETTINGS.runs} timed runs per endpoint, cache off`)
  const queries = await queryPhase(
    ws.dataDir,
    ws.cwd,
    list,
    load.sites.map((site) => site.id),
  )
  log('diagnostics (in-process)…')
  const diagnostics = await diagnose(ws.file, big, list, load.popular_page)

  const totalBytes = storage.db_bytes + storage.wal_bytes
  const statsResults = Object.entries(queries.endpoints).filter(
    (entry): entry is [string, EndpointResult] =>
      !('skipped' in entry[1]) && list.find((e) => e.name === entry[0])?.kind === 'stats',
  )
  const worstP95 = Math.max(...statsResults.map(([, r]) => r.p95_ms))
  const recordResults = Object.entries(queries.endpoints).filter(
    (entry): entry is [string, EndpointResult] =>
      !('skipped' in entry[1]) && list.find((e) => e.name === entry[0])?.kind === 'record',
  )
  const worstRecordP95 = Math.max(...recordResults.map(([, r]) => r.p95_ms))
  const targets = {
    load_events_per_s: pass(load.events_per_s, TARGETS.loadEventsPerS, true),
    stats_p95_ms: {
      ...pass(worstP95, TARGETS.statsP95Ms, false),
      per_endpoint: Object.fromEntries(
        statsResults.map(([name, r]) => [
          name,
          { p95_ms: r.p95_ms, pass: r.p95_ms <= TARGETS.statsP95Ms },
        ]),
      ),
    },
    record_p95_ms: {
      ...pass(worstRecordP95, TARGETS.recordP95Ms, false),
      per_endpoint: Object.fromEntries(
        recordResults.map(([name, r]) => [
          name,
          { p95_ms: r.p95_ms, pass: r.p95_ms <= TARGETS.recordP95Ms },
        ]),
      ),
    },
  }
  // The record's own tables (issue 26): its events, and the index a period's read takes.
  const objects = storage.objects ?? {}
  const recordBytes = (objects.record_events ?? 0) + (objects.sessions_by_start ?? 0)
  const cpuList = cpus()
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu_count: cpuList.length,
    cpu_model: cpuList[0]?.model ?? 'unknown',
    src: version,
    settings: {
      ...SETTINGS,
      sqlite_synchronous: 'NORMAL',
      stats_cache_seconds: 0,
      server: 'node --import tsx src/entry/node.ts (LOG_LEVEL=info)',
      load_path:
        SETTINGS.loadPath === 'import'
          ? 'HistoryImport(SqliteStore) in the bench process'
          : 'acceptAndRollUp(SqliteStore) in the bench process',
    },
    load,
    top_up: topped,
    storage: {
      ...storage,
      total_bytes: totalBytes,
      bytes_per_million_events: Math.round(totalBytes / (load.events / 1e6)),
      record_bytes: recordBytes,
      record_bytes_per_million_events: Math.round(recordBytes / (load.events / 1e6)),
      after_sweep: sweep,
    },
    queries,
    diagnostics,
    targets,
    ...(process.env.BENCH_BEFORE ? { before: beforeRun(process.env.BENCH_BEFORE) } : {}),
    pass: targets.load_events_per_s.pass && targets.stats_p95_ms.pass && targets.record_p95_ms.pass,
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`)
  printSummary(report)
  process.exitCode = report.pass ? 0 : 1
}

/** The figures of an earlier results file that a before-and-after reads. */
function beforeRun(file: string) {
  const run = JSON.parse(readFileSync(file, 'utf8'))
  return {
    file,
    date: run.date,
    src: run.src,
    events: run.load?.events,
    p95_ms: Object.fromEntries(
      Object.entries(run.queries?.endpoints ?? {}).map(([name, r]) => [
        name,
        (r as { p95_ms?: number }).p95_ms ?? null,
      ]),
    ),
    max_server_rss_mb: run.queries?.max_server_rss_mb,
    record_columns: run.diagnostics?.record_columns,
    bytes_per_million_events: run.storage?.bytes_per_million_events,
    record_bytes_per_million_events: run.storage?.record_bytes_per_million_events,
  }
}

function printSummary(report: {
  load: LoadResult
  storage: { total_bytes: number; bytes_per_million_events: number; after_sweep: SweepStats }
  queries: QueryPhase
  targets: {
    load_events_per_s: { target: number; measured: number; pass: boolean }
    stats_p95_ms: { target: number; measured: number; pass: boolean }
    record_p95_ms: { target: number; measured: number; pass: boolean }
  }
}): void {
  const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL')
  const { load, storage, queries, targets } = report
  log('')
  log(
    `load     ${load.events} events in ${load.commit_seconds} s of commits: ${load.events_per_s} events/s ` +
      `(target ≥${targets.load_events_per_s.target}) ${mark(targets.load_events_per_s.pass)}`,
  )
  log(
    `storage  ${mb(storage.total_bytes)} MB, ${mb(storage.bytes_per_million_events)} MB per million events; ` +
      `start-up sweep ${storage.after_sweep.seconds} s, ${mb(storage.after_sweep.used_bytes_after)} MB in use after`,
  )
  for (const [name, r] of Object.entries(queries.endpoints)) {
    log(
      'skipped' in r
        ? `${name.padEnd(17)} skipped`
        : `${name.padEnd(17)} p50 ${r.p50_ms} ms  p95 ${r.p95_ms} ms  max ${r.max_ms} ms`,
    )
  }
  log(
    `stats p95 worst ${targets.stats_p95_ms.measured} ms (target ≤${targets.stats_p95_ms.target}) ` +
      `${mark(targets.stats_p95_ms.pass)}; server RSS max ${queries.max_server_rss_mb} MB`,
  )
  log(
    `record p95 worst ${targets.record_p95_ms.measured} ms (target ≤${targets.record_p95_ms.target}) ` +
      `${mark(targets.record_p95_ms.pass)}`,
  )
  log(`results: ${RESULTS_FILE}`)
}

try {
  await main()
} finally {
  cleanupSync()
}
