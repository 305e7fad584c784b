import type { StatsQuery } from '../core/stats-query.ts'
import type { CounterReads, SetAside } from '../storage/store.ts'
import { type Breakdowns, breakdowns } from './breakdowns.ts'
import { type MetricValue, type SummaryMetric, summary } from './summary.ts'
import { type Timeseries, timeseries } from './timeseries.ts'

export interface StatsReport extends Breakdowns {
  site: string
  period: string
  timezone: string
  filter: string | null
  /** Which parts a filter narrows: tables stay site-wide (see breakdowns.ts). */
  filter_applies_to: Array<'summary' | 'timeseries'>
  summary: Record<SummaryMetric, MetricValue>
  timeseries: Timeseries
}

/**
 * A report with how far its counters trail ingestion (rollup-lag.ts) and what they miss, as
 * `/api/stats` and the dashboard show it: both are read at each request, the report may come
 * from a cache.
 */
export interface LaggedStatsReport extends StatsReport {
  rollup_lag_s: number
  /**
   * Items the roll-up set aside (dead letters), which no figure counts: how many, and the
   * earliest event time among them (epoch ms); null when none. Counts from then on are
   * incomplete until they are replayed.
   */
  uncounted: SetAside | null
}

/** The counters of the /api/stats answer: every part read from rollups, none from raw events. */
export async function statsReport(store: CounterReads, query: StatsQuery): Promise<StatsReport> {
  const [sum, series, tables] = await Promise.all([
    summary(store, query),
    timeseries(store, query),
    breakdowns(store, query),
  ])
  return {
    site: query.site_id,
    period: query.period,
    timezone: query.timezone,
    filter: query.filter ? `${query.filter.dim}:${query.filter.value}` : null,
    filter_applies_to: query.filter ? ['summary', 'timeseries'] : [],
    summary: sum,
    timeseries: series,
    ...tables,
  }
}
