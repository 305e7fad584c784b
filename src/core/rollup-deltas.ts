import { hourBucket, localDay } from './calendar.ts'
import { isBounce, isInteraction, PAGE_VIEW } from './session-rules.ts'
import {
  COUNTER_NAMES,
  type Counters,
  type RollupDelta,
  type RollupEvent,
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
  // Appended: SQLite's sessions table has the columns in this order (migration 103).
  'hostname',
  'utm_term',
  'utm_content',
  'screen',
] as const satisfies readonly (keyof SessionState)[]

export const DIMENSIONS = [
  ...SESSION_DIMENSIONS,
  'entry_page',
  'exit_page',
  'page',
  'event',
] as const
export type Dimension = (typeof DIMENSIONS)[number]
/** A rollup row's dimension: a counted dimension, or "" for the site's totals. */
export type RowDimension = Dimension | ''
/** Every dimension a site has rows of, its totals first. */
export const ROW_DIMENSIONS: readonly RowDimension[] = ['', ...DIMENSIONS]

/**
 * UTM dimensions are only recorded when the visit carried the parameter, the screen only when
 * the tracker sent a width: their tables hold the visits that said, not an "unknown" majority.
 */
const OPTIONAL_DIMENSIONS = new Set<string>([
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'screen',
])

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

type ValueRows = Map<string, RollupDelta>

/** Adds `sign` times `counters` to a row's counters; named fields keep this monomorphic. */
function addCounters(into: Counters, counters: Partial<Counters>, sign: number): void {
  if (counters.pageviews) into.pageviews += sign * counters.pageviews
  if (counters.visitors) into.visitors += sign * counters.visitors
  if (counters.sessions) into.sessions += sign * counters.sessions
  if (counters.bounces) into.bounces += sign * counters.bounces
  if (counters.duration_ms) into.duration_ms += sign * counters.duration_ms
  if (counters.events) into.events += sign * counters.events
  if (counters.bots) into.bots += sign * counters.bots
}

/**
 * Sums counter increments by rollup row, so a batch of thousands of events becomes one
 * upsert per touched row. Rows whose counters net to zero are dropped.
 */
export class DeltaAccumulator {
  /** Rows in the order they were first touched. */
  private readonly list: RollupDelta[] = []
  /**
   * Per grain: site → bucket → dim → value → row. Looked up with the strings events and
   * sessions already hold (V8 caches a string's hash on it), so an add builds no key string
   * and allocates nothing unless the row is new: this is the roll-up's innermost loop.
   */
  private readonly index = {
    hour: new Map<string, Map<number | string, Map<string, ValueRows>>>(),
    day: new Map<string, Map<number | string, Map<string, ValueRows>>>(),
  }

  /**
   * @param hourlyDimensionsFrom the first epoch hour whose dimension rows are still kept.
   *   Older hourly dimension rows are removed by the retention sweep and never read again,
   *   so they are not produced at all (a backfill of last month writes day rows only). Site
   *   totals keep their hours for good.
   */
  constructor(private readonly hourlyDimensionsFrom = Number.NEGATIVE_INFINITY) {}

  add(key: RollupKey, counters: Partial<Counters>, sign = 1): void {
    const row = this.row(key.grain, key.site_id, key.bucket, key.dim, key.value)
    addCounters(row.counters, counters, sign)
  }

  private row(
    grain: 'hour' | 'day',
    site_id: string,
    bucket: number | string,
    dim: string,
    value: string,
  ): RollupDelta {
    const bySite = this.index[grain]
    let byBucket = bySite.get(site_id)
    if (!byBucket) bySite.set(site_id, (byBucket = new Map()))
    let byDim = byBucket.get(bucket)
    if (!byDim) byBucket.set(bucket, (byDim = new Map()))
    let byValue = byDim.get(dim)
    if (!byValue) byDim.set(dim, (byValue = new Map()))
    let row = byValue.get(value)
    if (!row) {
      const key = (
        grain === 'hour'
          ? { grain, site_id, bucket: bucket as number, dim, value }
          : { grain, site_id, bucket: bucket as string, dim, value }
      ) satisfies RollupKey
      row = { key, counters: zeroCounters() }
      byValue.set(value, row)
      this.list.push(row)
    }
    return row
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
      addCounters(this.row('hour', site_id, hour, dim, value).counters, counters, sign)
    }
    addCounters(this.row('day', site_id, day, dim, value).counters, counters, sign)
  }

  deltas(): RollupDelta[] {
    return this.list.filter((row) => COUNTER_NAMES.some((name) => row.counters[name] !== 0))
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
  acc.addIn(at, 'exit_page', session.exit_page, ONE_SESSION, sign)
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
    acc.addIn(at, 'exit_page', before.exit_page, ONE_SESSION, -1)
    acc.addIn(at, 'exit_page', after.exit_page, ONE_SESSION)
  }
}

// Shared increments: the hot paths pass these instead of a new object per call.
const ONE_PAGEVIEW: Partial<Counters> = Object.freeze({ pageviews: 1 })
const ONE_EVENT: Partial<Counters> = Object.freeze({ events: 1 })
const ONE_SESSION: Partial<Counters> = Object.freeze({ sessions: 1 })
const ONE_VISITOR: Partial<Counters> = Object.freeze({ visitors: 1 })

/** What one stored event adds: page views per page, custom events per name. */
export function addEventContribution(
  acc: DeltaAccumulator,
  event: RollupEvent,
  timezone: string,
): void {
  if (event.event_type === PAGE_VIEW) {
    const at = momentOf(event.site_id, event.timestamp, timezone)
    acc.addIn(at, '', '', ONE_PAGEVIEW)
    acc.addIn(at, 'page', event.path, ONE_PAGEVIEW)
  } else if (isInteraction(event.event_type)) {
    const at = momentOf(event.site_id, event.timestamp, timezone)
    acc.addIn(at, '', '', ONE_EVENT)
    acc.addIn(at, 'event', event.event_type, ONE_EVENT)
  }
}

/** A visitor mark, and what its visitor is counted under when the mark is new. */
export interface MarkCandidate extends VisitorMark {
  timestamp: number
  timezone: string
  /** The row the mark is for: "" for the site, or a page or event name. */
  dim: string
  value: string
  /** The site mark's session: its visitor is also counted under the session's dimensions. */
  session: SessionState | undefined
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

/** An event as the roll-up counts it, with its id where the caller has one. */
type ClaimingEvent = RollupEvent & { event_id?: string }

function candidate(
  event: ClaimingEvent,
  day: string,
  timezone: string,
  dim: string,
  value: string,
  session: SessionState | undefined,
): MarkCandidate {
  return {
    site_id: event.site_id,
    day,
    scope: markScope(dim, value),
    visitor_id: event.visitor_id,
    claimant: `${event.client_session_id}\u001f${event.timestamp}\u001f${event.event_id ?? ''}`,
    timestamp: event.timestamp,
    timezone,
    dim,
    value,
    session,
  }
}

/**
 * Visitors are unique per site-local day, counted in the hour they first showed up.
 * Summing hours therefore gives daily uniques exactly, and longer periods add days
 * (docs/design.md, Metrics). A page or an event name counts each visitor once a day. Session dimensions
 * (source, browser, country, entry page…) count a visitor under the session they were in
 * when first seen that day: one mark per visitor-day serves them all, and every dimension's
 * visitors add up to the site's.
 */
export function eventMarks(
  event: ClaimingEvent,
  timezone: string,
  session: SessionState | undefined,
): MarkCandidate[] {
  const day = localDay(event.timestamp, timezone)
  const marks = [candidate(event, day, timezone, '', '', session)]
  if (event.event_type === PAGE_VIEW) {
    marks.push(candidate(event, day, timezone, 'page', event.path, undefined))
  } else if (isInteraction(event.event_type)) {
    marks.push(candidate(event, day, timezone, 'event', event.event_type, undefined))
  }
  return marks
}

/** The [dim, value] rows that gain one visitor when a mark is claimed. */
export function visitorRows(claimed: MarkCandidate): Array<readonly [string, string]> {
  const rows: Array<readonly [string, string]> = [[claimed.dim, claimed.value]]
  if (claimed.session) rows.push(...sessionDimensionValues(claimed.session))
  return rows
}

export function addVisitor(acc: DeltaAccumulator, claimed: MarkCandidate): void {
  const at = momentOf(claimed.site_id, claimed.timestamp, claimed.timezone)
  for (const [dim, value] of visitorRows(claimed)) acc.addIn(at, dim, value, ONE_VISITOR)
}
