import { addDays, HOUR_MS, hourBucket, localDay, startOfLocalDay } from '../core/calendar.ts'
import type { BucketRange, ResolvedPeriod } from '../core/stats-query.ts'

/**
 * A range of rollup buckets as the moments it holds, [from, to) in epoch ms: a moment is in
 * the range exactly when the counters would put it in one of the range's buckets (its UTC
 * hour, or its site-local day).
 */
export interface MsWindow {
  from: number
  to: number
}

export function msWindow(range: BucketRange, timeZone: string): MsWindow {
  if (range.grain === 'hour') return { from: range.from * HOUR_MS, to: (range.to + 1) * HOUR_MS }
  return {
    from: startOfLocalDay(range.from, timeZone),
    to: startOfLocalDay(addDays(range.to, 1), timeZone),
  }
}

export function within(window: MsWindow, at: number): boolean {
  return at >= window.from && at < window.to
}

/** The bucket of a moment at a range's grain, as the chart's points are keyed. */
export function bucketOf(range: BucketRange, at: number, timeZone: string): number | string {
  return range.grain === 'hour' ? hourBucket(at) : localDay(at, timeZone)
}

/**
 * The moments whose sessions a period's report reads, inclusive as RecordReads takes them.
 * It starts at the local midnight before the period: a visitor counts in the hour of their
 * first event of the day, so a rolling 24 hours must see that day's earlier events to know
 * a visitor was already counted before the window.
 */
export function readWindow(period: ResolvedPeriod, timeZone: string): MsWindow {
  const totals = msWindow(period.totals, timeZone)
  const series = msWindow(period.series, timeZone)
  const from = Math.min(totals.from, series.from)
  return {
    from: startOfLocalDay(localDay(from, timeZone), timeZone),
    to: Math.max(totals.to, series.to) - 1,
  }
}
