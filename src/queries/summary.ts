import type { StatsQuery } from '../core/stats-query.ts'
import type { Counters } from '../core/types.ts'
import type { CounterReads } from '../storage/store.ts'
import { filteredRows, sumCounters } from './period-counters.ts'

export const SUMMARY_METRICS = [
  'pageviews',
  'visitors',
  'sessions',
  'bounce_rate',
  'avg_session_duration_s',
  'pages_per_session',
] as const
export type SummaryMetric = (typeof SUMMARY_METRICS)[number]

export interface MetricValue {
  value: number
  /** Present when comparing: the previous period's value and the relative change. */
  previous?: number
  /** (value − previous) / previous; null when the previous period had none. */
  change?: number | null
}

const round = (value: number, places: number) => {
  const f = 10 ** places
  return Math.round(value * f) / f
}

/** The metric definitions (docs/design.md, Metrics) over a period's counters. */
export function metricsOf(c: Counters): Record<SummaryMetric, number> {
  return {
    pageviews: c.pageviews,
    visitors: c.visitors,
    sessions: c.sessions,
    bounce_rate: c.sessions ? round(c.bounces / c.sessions, 4) : 0,
    avg_session_duration_s: c.sessions ? round(c.duration_ms / c.sessions / 1000, 1) : 0,
    pages_per_session: c.sessions ? round(c.pageviews / c.sessions, 2) : 0,
  }
}

export async function summary(
  store: CounterReads,
  query: StatsQuery,
): Promise<Record<SummaryMetric, MetricValue>> {
  const totalsOf = async (range: StatsQuery['current']['totals']) =>
    metricsOf(sumCounters(await filteredRows(store, query.site_id, range, query.filter)))
  const [current, previous] = await Promise.all([
    totalsOf(query.current.totals),
    query.previous ? totalsOf(query.previous.totals) : Promise.resolve(null),
  ])
  return compareMetrics(current, previous)
}

/** Each metric of a period with, when comparing, the previous period's and the change. */
export function compareMetrics(
  current: Record<SummaryMetric, number>,
  previous: Record<SummaryMetric, number> | null,
): Record<SummaryMetric, MetricValue> {
  const out = {} as Record<SummaryMetric, MetricValue>
  for (const name of SUMMARY_METRICS) {
    const value = current[name]
    if (!previous) {
      out[name] = { value }
      continue
    }
    const before = previous[name]
    out[name] = {
      value,
      previous: before,
      change: before ? round((value - before) / before, 4) : null,
    }
  }
  return out
}
