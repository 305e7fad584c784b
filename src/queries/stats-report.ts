import type { Filter } from '../core/stats-filters.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import type { CounterReads, SetAside } from '../storage/store.ts'
import { type Breakdowns, breakdowns } from './breakdowns.ts'
import { type MetricValue, type SummaryMetric, summary } from './summary.ts'
import { type Timeseries, timeseries } from './timeseries.ts'

export interface StatsReport extends Breakdowns {
  site: string
  period: string
  timezone: string
  /** The request's one filter in today's text form when there is exactly one, else null. */
  filter: string | null
  /** The filters applied, all of which hold: none in a report of the counters. */
  filters: Filter[]
  /** Which parts the filters narrow: every part when the record answers (record/). */
  filter_applies_to: Array<'summary' | 'timeseries' | 'tables'>
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

/**
 * The unfiltered /api/stats answer from the counters: every part read from rollups, none from
 * raw events. A query with filters or a property is the record's (record/record-report.ts):
 * counter rows are one-dimensional and cannot narrow a table by another dimension.
 */
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
    filter: null,
    filters: [],
    filter_applies_to: [],
    summary: sum,
    timeseries: series,
    ...tables,
  }
}
