import { addDays, localHourLabel } from '../core/calendar.ts'
import type { BucketRange, StatsQuery } from '../core/stats-query.ts'
import type { CounterReads } from '../storage/store.ts'
import { filteredRows } from './period-counters.ts'

/** Chart.js data shape, ready for `new Chart(ctx, {type: 'line', data})`. */
export interface Timeseries {
  labels: string[]
  datasets: [{ label: 'Pageviews'; data: number[] }, { label: 'Visitors'; data: number[] }]
}

/** Every bucket of a range, in order: the chart's points. */
export function bucketsOf(range: BucketRange): Array<number | string> {
  const out: Array<number | string> = []
  if (range.grain === 'hour') {
    for (let h = range.from; h <= range.to; h++) out.push(h)
  } else {
    for (let d = range.from; d <= range.to; d = addDays(d, 1)) out.push(d)
  }
  return out
}

export async function timeseries(store: CounterReads, query: StatsQuery): Promise<Timeseries> {
  const range = query.current.series
  const rows = await filteredRows(store, query.site_id, range, query.filter)
  const byBucket = new Map<number | string, { pageviews: number; visitors: number }>()
  for (const row of rows) {
    // Hour rows come back as numbers from every backend; normalise before matching.
    const key = range.grain === 'hour' ? Number(row.bucket) : String(row.bucket)
    const into = byBucket.get(key) ?? { pageviews: 0, visitors: 0 }
    into.pageviews += row.pageviews
    into.visitors += row.visitors
    byBucket.set(key, into)
  }
  const buckets = bucketsOf(range)
  return {
    labels: buckets.map((b) =>
      range.grain === 'hour' ? localHourLabel(b as number, query.timezone) : String(b),
    ),
    datasets: [
      { label: 'Pageviews', data: buckets.map((b) => byBucket.get(b)?.pageviews ?? 0) },
      { label: 'Visitors', data: buckets.map((b) => byBucket.get(b)?.visitors ?? 0) },
    ],
  }
}
