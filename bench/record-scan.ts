/**
 * The record's columnar scan alone (`tsx bench/record-scan.ts DB_FILE [SITE]`): loads a
 * site's record columns from a bench database (BENCH_DATA_DIR of bench:query) and times the
 * record endpoints' reports in-process, for profiling (`node --cpu-prof`). THREADS: the scan
 * workers as RECORD_SCAN_THREADS, or several to compare over one load ("0,4"; default 4; 0
 * scans on the main thread). PAGE: the page filter's page (bench:query's popular page, in
 * bench-load.json; default /pricing).
 */
import { buildStatsQuery, StatsParamsSchema } from '../src/core/stats-query.ts'
import { RecordColumns, type RecordColumnsOptions } from '../src/record/record-columns.ts'
import { ScanPool, scanThreads } from '../src/record/scan-pool.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'

const [file, site = 'big'] = process.argv.slice(2)
if (!file) throw new Error('usage: tsx bench/record-scan.ts DB_FILE [SITE]')
const store = new SqliteStore({ file, synchronous: 'NORMAL' })
const settings = (process.env.THREADS ?? '4').split(',').map(Number)
const options: RecordColumnsOptions = {
  maxBytes: 8 * 1024 ** 3,
  sessionTimeoutMs: 30 * 60_000,
  now: Date.now,
  logger: { info: () => {}, warn: () => {} },
}
const columns = new RecordColumns(store, options)
const query = (q: string) =>
  buildStatsQuery(
    StatsParamsSchema.parse({ site, ...Object.fromEntries(new URLSearchParams(q)) }),
    'UTC',
    Date.now(),
  )
const page = encodeURIComponent(`page:${process.env.PAGE ?? '/pricing'}`)
const queries: Record<string, string> = {
  page: `period=30d&filter=${page}`,
  source: 'period=30d&filter=source:Google',
  two: `period=30d&filter=${page}&filter=source:Google`,
  props: 'period=30d&props=plan',
  event: 'period=30d&filter=event:signup',
  source_cmp: 'period=30d&compare=previous&filter=source:Google',
}
let started = performance.now()
// With the previous period, so every round scans the same columns (60 days).
await columns.report(query(queries.source_cmp as string))
console.log(`load ${Math.round(performance.now() - started)} ms`, JSON.stringify(columns.held()))
const only = process.env.ONLY?.split(',')
for (const setting of settings) {
  const threads = scanThreads(setting)
  // The options are read per query: the same columns, scanned another way.
  const scanPool = threads > 0 ? new ScanPool({ threads, logger: console }) : undefined
  if (scanPool) options.scanPool = scanPool
  else delete options.scanPool
  console.log(`scan threads ${threads}`)
  for (const [name, q] of Object.entries(queries)) {
    if (only && !only.includes(name)) continue
    const times: number[] = []
    for (let i = 0; i < Number(process.env.RUNS ?? 7); i++) {
      started = performance.now()
      await columns.report(query(q))
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    console.log(name, 'p50', Math.round(times[times.length >> 1] as number), 'ms')
  }
  await scanPool?.close()
}
await store.close()
