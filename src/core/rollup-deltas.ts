import { hourBucket, localDay } from './calendar.ts'
import { isBounce, isInteraction, PAGE_VIEW } from './session-rules.ts'
import {
  COUNTER_NAMES,
  type Counters,
  type EnrichedEvent,
  type RollupDelta,
  type RollupKey,
  type SessionState,
  type VisitorMark,
} from './types.ts'

/**
 * Dimensions. Session dimensions take their value from the session (its first event) and
 * count sessions, bounces, duration and the session's page views; event dimensions count
 * single events.
 */
export const SESSION_DIMENSIONS = [
  'source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'browser',
  'os',
  'device',
  'country',
] as const satisfies readonly (keyof SessionState)[]

export const DIMENSIONS = [
  ...SESSION_DIMENSIONS,
  'entry_page',
  'exit_page',
  'page',
  'event',
] as const
export type Dimension = (typeof DIMENSIONS)[number]

/** UTM dimensions are only recorded when the visit carried the parameter. */
const OPTIONAL_DIMENSIONS = new Set<string>(['utm_source', 'utm_medium', 'utm_campaign'])

export function zeroCounters(): Counters {
  return { pageviews: 0, visitors: 0, sessions: 0, bounces: 0, duration_ms: 0, events: 0, bots: 0 }
}

/** The hour and site-local day rows a moment of a site falls in. */
export interface Moment {
  site_id: string
  hour: number
  day: string
}

export function momentOf(siteId: string, timestamp: number, timezone: string): Moment {
  return { site_id: siteId, hour: hourBucket(timestamp), day: localDay(timestamp, timezone) }
}

function rollupKeyString(key: RollupKey): string {
  return `${key.grain}\u001f${key.site_id}\u001f${key.bucket}\u001f${key.dim}\u001f${key.value}`
}

/**
 * Sums counter increments by rollup row, so a batch of thousands of events becomes one
 * upsert per touched row. Rows whose counters net to zero are dropped.
 */
export class DeltaAccumulator {
  private readonly rows = new Map<string, RollupDelta>()

  /**
   * @param hourlyDimensionsFrom the first epoch hour whose dimension rows are still kept.
   *   Older hourly dimension rows are removed by the retention sweep and never read again,
   *   so they are not produced at all (a backfill of last month writes day rows only). Site
   *   totals keep their hours for good.
   */
  constructor(private readonly hourlyDimensionsFrom = Number.NEGATIVE_INFINITY) {}

  add(key: RollupKey, counters: Partial<Counters>, sign = 1): void {
    const id = rollupKeyString(key)
    let row = this.rows.get(id)
    if (!row) {
      row = { key, counters: zeroCounters() }
      this.rows.set(id, row)
    }
    for (const name of COUNTER_NAMES) {
      const value = counters[name]
      if (value) row.counters[name] += sign * value
    }
  }

  /** Adds the same counters to the hour row and the local-day row of a moment. */
  addAt(
    at: { site_id: string; timestamp: number; timezone: string },
    dim: string,
    value: string,
    counters: Partial<Counters>,
    sign = 1,
  ): void {
    this.addIn(momentOf(at.site_id, at.timestamp, at.timezone), dim, value, counters, sign)
  }

  /** `addAt` with the buckets already worked out (hot loops compute them once). */
  addIn(moment: Moment, dim: string, value: string, counters: Partial<Counters>, sign = 1): void {
    const { site_id, hour, day } = moment
    if (dim === '' || hour >= this.hourlyDimensionsFrom) {
      this.add({ grain: 'hour', site_id, bucket: hour, dim, value }, counters, sign)
    }
    this.add({ grain: 'day', site_id, bucket: day, dim, value }, counters, sign)
  }

  deltas(): RollupDelta[] {
    return [...this.rows.values()].filter((row) =>
      COUNTER_NAMES.some((name) => row.counters[name] !== 0),
    )
  }
}

/**
 * What one session adds to the rollups, all in the hour and day it started. Updating a
 * session subtracts its old contribution and adds the new one: a bounce undone, a longer
 * duration or a moved start are all just deltas.
 */
export function addSessionContribution(
  acc: DeltaAccumulator,
  session: SessionState,
  timezone: string,
  sign: 1 | -1,
): void {
  const at = momentOf(session.site_id, session.start_time, timezone)
  const visit = {
    sessions: 1,
    bounces: isBounce(session) ? 1 : 0,
    duration_ms: session.end_time - session.start_time,
  }
  const withPages = { ...visit, pageviews: session.pageviews }
  acc.addIn(at, '', '', visit, sign)
  for (const [dim, value] of sessionDimensionValues(session)) {
    acc.addIn(at, dim, value, withPages, sign)
  }
  acc.addIn(at, 'exit_page', session.exit_page, { sessions: 1 }, sign)
}

function sameRows(a: SessionState, b: SessionState, timezone: string): boolean {
  if (hourBucket(a.start_time) !== hourBucket(b.start_time)) return false
  if (localDay(a.start_time, timezone) !== localDay(b.start_time, timezone)) return false
  if (a.entry_page !== b.entry_page) return false
  return SESSION_DIMENSIONS.every((dim) => a[dim] === b[dim])
}

/**
 * The rollup delta of a session going from `before` (null: new) to `after` (null: merged
 * away). Equal to
 * subtracting the old contribution and adding the new one; the common case, a session that
 * only grew, is done as one difference per row instead of two passes.
 */
export function addSessionChange(
  acc: DeltaAccumulator,
  before: SessionState | null,
  after: SessionState | null,
  timezone: string,
): void {
  if (!after) {
    // Merged into another session: what it contributed is taken back.
    if (before) addSessionContribution(acc, before, timezone, -1)
    return
  }
  if (!before || !sameRows(before, after, timezone)) {
    if (before) addSessionContribution(acc, before, timezone, -1)
    addSessionContribution(acc, after, timezone, 1)
    return
  }
  const at = momentOf(after.site_id, after.start_time, timezone)
  const visit = {
    bounces: (isBounce(after) ? 1 : 0) - (isBounce(before) ? 1 : 0),
    duration_ms: after.end_time - after.start_time - (before.end_time - before.start_time),
  }
  const withPages = { ...visit, pageviews: after.pageviews - before.pageviews }
  if (visit.bounces || visit.duration_ms) acc.addIn(at, '', '', visit)
  if (visit.bounces || visit.duration_ms || withPages.pageviews) {
    for (const [dim, value] of sessionDimensionValues(after)) acc.addIn(at, dim, value, withPages)
  }
  if (before.exit_page !== after.exit_page) {
    acc.addIn(at, 'exit_page', before.exit_page, { sessions: 1 }, -1)
    acc.addIn(at, 'exit_page', after.exit_page, { sessions: 1 })
  }
}

/** What one stored event adds: page views per page, custom events per name. */
export function addEventContribution(
  acc: DeltaAccumulator,
  event: EnrichedEvent,
  timezone: string,
): void {
  if (event.event_type === PAGE_VIEW) {
    const at = momentOf(event.site_id, event.timestamp, timezone)
    acc.addIn(at, '', '', { pageviews: 1 })
    acc.addIn(at, 'page', event.path, { pageviews: 1 })
  } else if (isInteraction(event.event_type)) {
    const at = momentOf(event.site_id, event.timestamp, timezone)
    acc.addIn(at, '', '', { events: 1 })
    acc.addIn(at, 'event', event.event_type, { events: 1 })
  }
}

/** A visitor mark, with the rows its visitor is counted in when the mark is new. */
export interface MarkCandidate {
  mark: VisitorMark
  timestamp: number
  timezone: string
  /** [dim, value] pairs that gain one visitor when the mark is claimed. */
  rows: Array<readonly [string, string]>
}

export function markScope(dim: string, value: string): string {
  return dim === '' ? '' : `${dim}\u001f${value}`
}

/** The session dimension values a session is counted under (the entry page included). */
export function sessionDimensionValues(session: SessionState): Array<readonly [string, string]> {
  const rows: Array<readonly [string, string]> = []
  for (const dim of SESSION_DIMENSIONS) {
    const value = session[dim]
    if (value === '' && OPTIONAL_DIMENSIONS.has(dim)) continue
    rows.push([dim, value])
  }
  rows.push(['entry_page', session.entry_page])
  return rows
}

function candidate(
  event: EnrichedEvent,
  timezone: string,
  dim: string,
  value: string,
  rows: Array<readonly [string, string]>,
): MarkCandidate {
  return {
    mark: {
      site_id: event.site_id,
      day: localDay(event.timestamp, timezone),
      scope: markScope(dim, value),
      visitor_id: event.visitor_id,
    },
    timestamp: event.timestamp,
    timezone,
    rows,
  }
}

/**
 * Visitors are unique per site-local day, counted in the hour they first showed up.
 * Summing hours therefore gives daily uniques exactly, and longer periods add days
 * (DESIGN.md). A page or an event name counts each visitor once a day. Session dimensions
 * (source, browser, country, entry page…) count a visitor under the session they were in
 * when first seen that day: one mark per visitor-day serves them all, and every dimension's
 * visitors add up to the site's.
 */
export function eventMarks(
  event: EnrichedEvent,
  timezone: string,
  session: SessionState | undefined,
): MarkCandidate[] {
  const siteRows: Array<readonly [string, string]> = [['', '']]
  if (session) siteRows.push(...sessionDimensionValues(session))
  const marks = [candidate(event, timezone, '', '', siteRows)]
  if (event.event_type === PAGE_VIEW) {
    marks.push(candidate(event, timezone, 'page', event.path, [['page', event.path]]))
  } else if (isInteraction(event.event_type)) {
    marks.push(candidate(event, timezone, 'event', event.event_type, [['event', event.event_type]]))
  }
  return marks
}

export function addVisitor(acc: DeltaAccumulator, claimed: MarkCandidate): void {
  const at = {
    site_id: claimed.mark.site_id,
    timestamp: claimed.timestamp,
    timezone: claimed.timezone,
  }
  for (const [dim, value] of claimed.rows) acc.addAt(at, dim, value, { visitors: 1 })
}
