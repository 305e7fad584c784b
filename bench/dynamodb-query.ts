/**
 * The query benchmark on the DynamoDB store (`BENCH_STORE=dynamodb npm run bench:query`).
 *
 * Loads a month of one site's synthetic traffic (bench/event-world.ts, BENCH_EVENTS, default
 * 50,000: DynamoDB Local writes far slower than SQLite) through HistoryImport into AWS's own
 * DynamoDB Local, plus the last half hour through the collector's pipeline for the live view,
 * then serves the DynamoDB shape in this process with the stats cache off and times
 * /api/stats and /api/realtime over HTTP, counting the DynamoDB requests each call makes.
 * Compares with the SQLite figures in bench/results/query.json (a larger load: read those
 * as the embedded shape's, not a like-for-like race). Results: bench/results/query-dynamodb.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../src/config/env.ts'
import type { EnrichedEvent } from '../src/core/types.ts'
import { startDynamoDbService } from '../src/entry/aws/dynamodb-service.ts'
import { LocalStreamBacklog } from '../src/entry/aws/local-stream-backlog.ts'
import { HistoryImport } from '../src/import/history-import.ts'
import { createLogger } from '../src/log/logger.ts'
import { rollupOptions } from '../src/rollup/rollup-options.ts'
import { dynamoClients } from '../src/storage/dynamodb/clients.ts'
import { startDynamoDbLocal } from '../src/storage/dynamodb/dynamodb-local.ts'
import { DynamoDbStore } from '../src/storage/dynamodb/dynamodb-store.ts'
import { createTables, tableNamesFromEnv } from '../src/storage/dynamodb/tables.ts'
import { acceptAndRollUp } from '../src/testing/accept-and-roll-up.ts'
import { makeSite } from '../src/testing/fixtures.ts'
import { signIn } from '../src/testing/sign-in.ts'
import { mergeByTime, SiteTraffic } from './event-world.ts'
import { CapacityMeter } from './support/capacity-meter.ts'
import { gitState } from './support/run-context.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'query-dynamodb.json')
const SQLITE_RESULTS = join(ROOT, 'bench', 'results', 'query.json')
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const PASSWORD = 'bench-dynamodb-query'
const DAY = 86_400_000

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0

const meter = new CapacityMeter(() => 0)
const local = await startDynamoDbLocal()
const clients = dynamoClients({ endpoint: local.endpoint })
meter.attach(clients.ddb)
const tables = tableNamesFromEnv({})
await createTables(clients.ddb, tables)
const now = Date.now()
const site = makeSite({
  id: 'big',
  api_key: 'bench-big-key-0123456789',
  created_at: now - 40 * DAY,
})
const store = new DynamoDbStore({
  ...clients,
  tables,
  pulled: new LocalStreamBacklog(clients, tables),
})
await store.createSite(site)

// A month of history through the history import; the last half hour through the pipeline.
meter.phase = 'load'
const liveFrom = now - 30 * 60_000
const traffic = mergeByTime([
  new SiteTraffic({ site, events: EVENTS, from: now - 30 * DAY, to: now - 60_000, seed: 1 }),
])
const history = new HistoryImport(store, {
  ...rollupOptions(30 * 60_000),
  eventTtlMs: DAY,
  now: liveFrom,
})
const recent: EnrichedEvent[] = []
const loadStarted = performance.now()
let batch: EnrichedEvent[] = []
for (const event of traffic) {
  if (event.timestamp >= liveFrom) {
    recent.push(event)
    continue
  }
  batch.push(event)
  if (batch.length === 5000) {
    await history.add(batch)
    batch = []
  }
}
if (batch.length) await history.add(batch)
await history.finish()
for (let i = 0; i < recent.length; i += 500) {
  await acceptAndRollUp(store, recent.slice(i, i + 500), [], rollupOptions(30 * 60_000))
}
const loadSeconds = (performance.now() - loadStarted) / 1000

const config = parseConfig({
  PORT: '0',
  ADMIN_PASSWORD: PASSWORD,
  STATS_CACHE_SECONDS: '0',
  RATE_LIMIT_PER_MINUTE: '0',
  LOG_LEVEL: 'silent',
})
const server = await startDynamoDbService(config, createLogger('silent'), clients, tables)
try {
  await server.settle()
  const token = await signIn(server.url, PASSWORD)
  const endpoints: Record<string, string> = {
    stats_24h: '/api/stats?site=big&period=24h',
    stats_7d: '/api/stats?site=big&period=7d',
    stats_30d: '/api/stats?site=big&period=30d',
    stats_30d_page: '/api/stats?site=big&period=30d&filter=page%3A%2Fpricing',
    realtime: '/api/realtime?site=big',
  }
  const measured: Record<string, object> = {}
  for (const [name, path] of Object.entries(endpoints)) {
    const times: number[] = []
    meter.phase = name
    for (let i = 0; i < RUNS + 2; i++) {
      const started = performance.now()
      const res = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
      // Two warm-up calls, counted in the requests too (each call makes the same ones).
      if (i >= 2) times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    const usage = meter.of(name)
    measured[name] = {
      path,
      runs: RUNS,
      p50_ms: round(percentile(times, 50)),
      p95_ms: round(percentile(times, 95)),
      dynamodb_requests_per_call: round(meter.requestsOf(name) / (RUNS + 2), 1),
      read_units_per_call: round(usage.read_units / (RUNS + 2), 1),
      requests_by_operation: usage.requests,
    }
  }
  const sqlite = existsSync(SQLITE_RESULTS)
    ? (JSON.parse(readFileSync(SQLITE_RESULTS, 'utf8')) as {
        settings?: { bigEvents?: number }
        queries?: { endpoints?: Record<string, { p95_ms?: number }> }
      })
    : undefined
  const result = {
    measured_at: new Date().toISOString(),
    git: gitState(),
    store: 'dynamodb (DynamoDB Local 3.3, in memory, same machine)',
    events: EVENTS + 0,
    live_events: recent.length,
    load_seconds: round(loadSeconds),
    load_events_per_s: Math.round(EVENTS / loadSeconds),
    endpoints: measured,
    sqlite_for_comparison: sqlite
      ? {
          events: sqlite.settings?.bigEvents,
          p95_ms: Object.fromEntries(
            Object.entries(sqlite.queries?.endpoints ?? {}).map(([k, v]) => [k, v.p95_ms]),
          ),
        }
      : null,
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`)
  process.stdout.write(`${JSON.stringify(result.endpoints, null, 1)}\n-> ${RESULTS_FILE}\n`)
} finally {
  await server.close()
  await local.stop()
}
