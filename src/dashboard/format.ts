/** Labels and number formatting shared by the dashboard's server-side views. */
import type { SetAside } from '../storage/store.ts'

export const PERIOD_LABELS = {
  today: 'Today',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
  '12mo': 'Last 12 months',
} as const
export type DashboardPeriod = keyof typeof PERIOD_LABELS
export const DEFAULT_PERIOD: DashboardPeriod = '7d'

export function isDashboardPeriod(value: unknown): value is DashboardPeriod {
  return typeof value === 'string' && Object.hasOwn(PERIOD_LABELS, value)
}

export function formatNumber(value: number): string {
  return value.toLocaleString('en-US')
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  return `${Math.floor(s / 60)}m ${s % 60}s`
}

/** The summary metrics as every dashboard view names them (the report's keys are API names). */
const METRIC_LABELS: Record<string, string> = {
  pageviews: 'Pageviews',
  visitors: 'Visitors',
  sessions: 'Visits',
  bounce_rate: 'Bounce rate',
  avg_session_duration_s: 'Visit duration',
  pages_per_session: 'Pages / visit',
}

export function metricLabel(name: string): string {
  return METRIC_LABELS[name] ?? name
}

export function formatMetric(name: string, value: number): string {
  if (name === 'bounce_rate') return `${Math.round(value * 100)}%`
  if (name === 'avg_session_duration_s') return formatDuration(value)
  return formatNumber(value)
}

/**
 * A summary metric's change against the previous period, in whole percent: `pct` to colour it
 * by, `text` as shown ("+12%", "-3%").
 */
export function percentChange(change: number): { pct: number; text: string } {
  const pct = Math.round(change * 100)
  return { pct, text: `${pct >= 0 ? '+' : ''}${pct}%` }
}

/**
 * Stats trailing ingestion by more than this many seconds get a notice. The roll-up runs every
 * 500 ms, so a lag of a second or two is normal and not worth a word.
 */
export const LAG_NOTICE_AFTER_S = 2

/** What the counters miss, in words: null when the roll-up set nothing aside. */
export function uncountedNotice(uncounted: SetAside | null, timeZone: string): string | null {
  if (!uncounted) return null
  const since = new Date(uncounted.since).toLocaleString('en-GB', {
    timeZone,
    dateStyle: 'medium',
    timeStyle: 'short',
  })
  const items = uncounted.items === 1 ? '1 event' : `${formatNumber(uncounted.items)} events`
  return `Counts are incomplete since ${since}: ${items} could not be counted and are kept aside to be replayed`
}

/**
 * "Stats are N s behind", or null while the lag is normal. On AWS the batching window (30 s by
 * default) is the usual lag, and it is shown: the stats there are that far behind.
 */
export function lagNotice(lagS: number): string | null {
  return lagS > LAG_NOTICE_AFTER_S ? `Stats are ${formatNumber(lagS)} s behind` : null
}
