import { type RowDimension, zeroCounters } from '../core/rollup-deltas.ts'
import type { BucketRange, StatsFilter } from '../core/stats-query.ts'
import type { Counters } from '../core/types.ts'
import type { CounterReads, RollupRow } from '../storage/store.ts'

/** Counter rows per bucket for the whole site, or for what a filter keeps. */
export async function filteredRows(
  store: CounterReads,
  siteId: string,
  range: BucketRange,
  filter: StatsFilter | null,
): Promise<RollupRow[]> {
  const read = (dim: RowDimension, value?: string) =>
    store.readRollups({ ...range, site_id: siteId, dim, ...(value === undefined ? {} : { value }) })
  if (!filter) return read('')
  if (filter.dim === 'source') return read('source', filter.value)
  // A page filter: that page's views and visitors, and the sessions that entered on it.
  const [views, entries] = await Promise.all([
    read('page', filter.value),
    read('entry_page', filter.value),
  ])
  const merged = new Map<string | number, RollupRow>()
  for (const row of views) {
    merged.set(row.bucket, { ...row, sessions: 0, bounces: 0, duration_ms: 0 })
  }
  for (const row of entries) {
    const into = merged.get(row.bucket) ?? { ...row, pageviews: 0, visitors: 0 }
    into.sessions = row.sessions
    into.bounces = row.bounces
    into.duration_ms = row.duration_ms
    merged.set(row.bucket, into)
  }
  return [...merged.values()]
}

export function sumCounters(rows: readonly RollupRow[]): Counters {
  const sum = zeroCounters()
  for (const row of rows) {
    sum.pageviews += row.pageviews
    sum.visitors += row.visitors
    sum.sessions += row.sessions
    sum.bounces += row.bounces
    sum.duration_ms += row.duration_ms
    sum.events += row.events
    sum.bots += row.bots
  }
  return sum
}
