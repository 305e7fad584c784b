import { localDay, localHourLabel } from '../core/calendar.ts'
import { type Dimension, zeroCounters } from '../core/rollup-deltas.ts'
import { isBounce, isInteraction, PAGE_VIEW } from '../core/session-rules.ts'
import type { BucketRange, StatsQuery } from '../core/stats-query.ts'
import type { Counters, PropValue } from '../core/types.ts'
import { BREAKDOWNS, type BreakdownName, type Breakdowns } from '../queries/breakdowns.ts'
import type { StatsReport } from '../queries/stats-report.ts'
import { compareMetrics, metricsOf } from '../queries/summary.ts'
import { bucketsOf, type Timeseries } from '../queries/timeseries.ts'
import type { RollupRow } from '../storage/store.ts'
import { bucketOf, type MsWindow, msWindow, within } from './period-window.ts'
import { compileFilters, propText, type SessionMatch } from './session-match.ts'
import type { RecordSession } from './session-record.ts'
import { forEachSessionValue } from './session-values.ts'
import { VisitorDays } from './visitor-days.ts'

/**
 * The stats report computed from the record (issue 26, items 1 and 2): the counters' report
 * shape, narrowed by any filters, with property breakdowns. Every figure is attributed as the
 * roll-up attributes it (core/rollup-deltas.ts), so with no filters it equals the counters:
 *
 * - a session, its bounce and its duration land in the bucket it started in; so does the
 *   session-dimension row it is counted under, and its exit page;
 * - a page view and a custom event land in the bucket of their own moment;
 * - a visitor counts once per site-local day, in the hour of their first event that day; a
 *   page or event row counts a visitor once per day, at their first such page view or event.
 *
 * Where the record's figures differ from the counters' rows, and why:
 * - Visitors of a session-dimension row (sources, countries, entry pages…) count once per
 *   day per value, at the visitor's first event that day in a session with that value. The
 *   counters count a visitor-day only under the session it was first seen in, so a visitor
 *   with a Direct and a Google session on one day counts under both sources here and under
 *   Direct there. Here a row's visitors are what filtering by that row shows (Plausible's
 *   count), which is what a table of a filtered view must mean; the counters' rows add up to
 *   the site's visitors instead.
 * - The counters' visitor is claimed by the event counted first, and counted under its
 *   session as it was then: an event that arrives late (older than ones already counted) can
 *   move the hour a visitor counts in or, by moving a session's entry, the entry page they
 *   count under. The record reads every session as it is now, events in time order.
 * - A session counted before the record existed (`events: null`) counts its page views and
 *   its visitor at its start; its pages, events and properties are unknown, so it has no page,
 *   event or property rows and any event-dimension filter (page, event, prop.KEY) leaves it
 *   out. `record_since` and `record_partial` say when that happens.
 *
 * Page views of a kept session count only when they meet every `page` condition: the summary's
 * page views, the chart's and the top pages table. Custom events and properties count every
 * event of the kept sessions.
 *
 * One pass over the sessions and their events per period, the filters compiled once per
 * query (session-match.ts); counters are sums per row, visitors first-seen moments kept in
 * flat arrays and grouped by visitor-day at the end (visitor-days.ts), so the loop can later
 * run over columns instead of objects. 1M events in 200k sessions take about 3 s on the
 * shared 2-core test machine, half of it garbage collection of the event objects.
 */

/** One value of a custom property: how many events carried it, by how many visitors. */
export interface PropValueRow {
  value: string
  events: number
  visitors: number
}

export interface FilteredStatsReport extends StatsReport {
  /** The custom property keys the period's (kept) events carry, the most used first. */
  prop_keys: string[]
  /** With `props=KEY`: that property's top values. */
  props?: Record<string, PropValueRow[]>
  /** When the record began holding events for the site (epoch ms), null when it holds none. */
  record_since: number | null
  /**
   * Some of the period's sessions predate the record: page, event and property filters and
   * breakdowns cannot count them (they count from `record_since` on).
   */
  record_partial: boolean
}

/** What the record adds to the counters' report for an unfiltered `props=KEY` query. */
export type RecordProperties = Pick<
  FilteredStatsReport,
  'prop_keys' | 'props' | 'record_since' | 'record_partial'
>

export interface FilteredReportInput {
  /** The sessions RecordReads returns for the current period (record-report.ts' window). */
  current: readonly RecordSession[]
  /** The same for the previous period; null when not comparing. */
  previous: readonly RecordSession[] | null
  query: StatsQuery
  recordSince: number | null
}

/** The visitor marks of the chosen property's values: no table dimension is "". */
const PROP_ROW = ''

/** What a period's tally hands the report: the object engine's and the columnar one's. */
export interface Tallied {
  readonly totals: Counters
  readonly series: Map<number | string, { pageviews: number; visitors: number }>
  /** Table rows: dimension → value → counters (rows of all zeros are left out anyway). */
  readonly rows: Map<string, Map<string, Counters>>
  readonly propRows: Map<string, PropValueRow>
  /** Property key → events in the period carrying it. */
  readonly propKeys: Map<string, number>
}

/** What one period's kept sessions add up to. */
class Tally implements Tallied {
  readonly totals = zeroCounters()
  readonly series = new Map<number | string, { pageviews: number; visitors: number }>()
  /** Table rows: dimension → value → counters. */
  readonly rows = new Map<string, Map<string, Counters>>()
  readonly propRows = new Map<string, PropValueRow>()
  /** Property key → events in the period carrying it. */
  readonly propKeys = new Map<string, number>()
  private readonly visitors = new VisitorDays()
  private readonly totalsWindow: MsWindow
  private readonly seriesWindow: MsWindow

  constructor(
    totalsRange: BucketRange,
    private readonly seriesRange: BucketRange | null,
    private readonly timeZone: string,
    private readonly match: SessionMatch,
    private readonly propKey: string | null,
    /** False for the previous period, which only the summary reads. */
    private readonly tables: boolean,
  ) {
    this.totalsWindow = msWindow(totalsRange, timeZone)
    this.seriesWindow = seriesRange ? msWindow(seriesRange, timeZone) : { from: 0, to: 0 }
  }

  private row(dim: string, value: string): Counters {
    let values = this.rows.get(dim)
    if (!values) this.rows.set(dim, (values = new Map()))
    let row = values.get(value)
    if (!row) values.set(value, (row = zeroCounters()))
    return row
  }

  private point(at: number) {
    const bucket = bucketOf(this.seriesRange as BucketRange, at, this.timeZone)
    let point = this.series.get(bucket)
    if (!point) this.series.set(bucket, (point = { pageviews: 0, visitors: 0 }))
    return point
  }

  private pageviews(at: number, n: number): void {
    if (within(this.totalsWindow, at)) this.totals.pageviews += n
    if (this.seriesRange && within(this.seriesWindow, at)) this.point(at).pageviews += n
  }

  /** A visitor seen on a day at `at`, in this session: the site's and its values' marks. */
  private visit(session: RecordSession, day: string, at: number): number {
    const id = this.visitors.seen(session.visitor_id, day, at)
    if (this.tables) this.visitors.seenIn(id, session, at)
    return id
  }

  private sessionRows(session: RecordSession, bounces: number, duration: number) {
    forEachSessionValue(session, (dim, value) => {
      const row = this.row(dim, value)
      row.sessions += 1
      row.bounces += bounces
      row.duration_ms += duration
      row.pageviews += session.pageviews
    })
    this.row('exit_page', session.exit_page).sessions += 1
  }

  add(session: RecordSession): void {
    if (!this.match.keeps(session)) return
    if (within(this.totalsWindow, session.start_time)) {
      const bounces = isBounce(session) ? 1 : 0
      const duration = session.end_time - session.start_time
      this.totals.sessions += 1
      this.totals.bounces += bounces
      this.totals.duration_ms += duration
      if (this.tables) this.sessionRows(session, bounces, duration)
    }
    const events = session.events
    if (events === null) {
      this.pageviews(session.start_time, session.pageviews)
      this.visit(session, localDay(session.start_time, this.timeZone), session.start_time)
      return
    }
    let lastDay = ''
    let visitorDay = 0
    for (const event of events) {
      const at = event.timestamp
      const day = localDay(at, this.timeZone)
      // Events are in time order: a session's first event of each day is where its visitor
      // is first seen in it that day.
      if (day !== lastDay) {
        lastDay = day
        visitorDay = this.visit(session, day, at)
      }
      const inTotals = within(this.totalsWindow, at)
      if (!this.tables) {
        if (event.event_type === PAGE_VIEW && this.match.countsPage(event.path))
          this.pageviews(at, 1)
        continue
      }
      if (event.event_type === PAGE_VIEW) {
        if (this.match.countsPage(event.path)) {
          this.pageviews(at, 1)
          if (inTotals) this.row('page', event.path).pageviews += 1
          this.visitors.seenUnder(visitorDay, 'page', event.path, at)
        }
      } else if (isInteraction(event.event_type)) {
        if (inTotals) {
          this.totals.events += 1
          this.row('event', event.event_type).events += 1
        }
        this.visitors.seenUnder(visitorDay, 'event', event.event_type, at)
      }
      if (event.props) this.addProps(event.props, visitorDay, at, inTotals)
    }
  }

  private addProps(
    props: Record<string, PropValue>,
    visitorDay: number,
    at: number,
    inTotals: boolean,
  ) {
    for (const key in props) {
      const text = propText(props[key])
      if (text === null) continue
      if (inTotals) this.propKeys.set(key, (this.propKeys.get(key) ?? 0) + 1)
      if (key !== this.propKey) continue
      if (inTotals) {
        let row = this.propRows.get(text)
        if (!row) this.propRows.set(text, (row = { value: text, events: 0, visitors: 0 }))
        row.events += 1
      }
      this.visitors.seenUnder(visitorDay, PROP_ROW, text, at)
    }
  }

  /** Counts each visitor where they were first seen; call once, after every `add`. */
  finish(): this {
    for (const at of this.visitors.firstMoments()) {
      if (within(this.totalsWindow, at)) this.totals.visitors += 1
      if (this.seriesRange && within(this.seriesWindow, at)) this.point(at).visitors += 1
    }
    this.visitors.eachFirst((dim, value, at) => {
      if (!within(this.totalsWindow, at)) return
      if (dim !== PROP_ROW) {
        this.row(dim, value).visitors += 1
        return
      }
      let row = this.propRows.get(value)
      if (!row) this.propRows.set(value, (row = { value, events: 0, visitors: 0 }))
      row.visitors += 1
    })
    return this
  }
}

function tally(
  sessions: readonly RecordSession[],
  query: StatsQuery,
  totals: BucketRange,
  series: BucketRange | null,
  match: SessionMatch,
  tables = true,
): Tally {
  const t = new Tally(totals, series, query.timezone, match, query.props, tables)
  for (const session of sessions) t.add(session)
  return t.finish()
}

function chart(t: Tallied, range: BucketRange, timeZone: string): Timeseries {
  const buckets = bucketsOf(range)
  return {
    labels: buckets.map((b) =>
      range.grain === 'hour' ? localHourLabel(b as number, timeZone) : String(b),
    ),
    datasets: [
      { label: 'Pageviews', data: buckets.map((b) => t.series.get(b)?.pageviews ?? 0) },
      { label: 'Visitors', data: buckets.map((b) => t.series.get(b)?.visitors ?? 0) },
    ],
  }
}

/** SQLite's order for text (UTF-8 bytes), which is code point order. */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const x = ia.next()
    const y = ib.next()
    if (x.done) return y.done ? 0 : -1
    if (y.done) return 1
    const cx = x.value.codePointAt(0) as number
    const cy = y.value.codePointAt(0) as number
    if (cx !== cy) return cx - cy
  }
}

/** Every table as the counters' breakdowns shape, order and cut them. */
function tables(t: Tallied, limit: number): Breakdowns {
  const out = {} as Breakdowns
  for (const [name, def] of Object.entries(BREAKDOWNS) as Array<
    [BreakdownName, (typeof BREAKDOWNS)[BreakdownName]]
  >) {
    const values = t.rows.get(def.dim as Dimension) ?? new Map<string, Counters>()
    const rows: RollupRow[] = []
    for (const [value, counters] of values) {
      // The counters sum only what a table reads, and leave out values where that is nothing.
      const row: RollupRow = { bucket: '', dim: def.dim, value, ...zeroCounters() }
      for (const n of def.counters) row[n] = counters[n]
      if (def.counters.some((n) => row[n] > 0)) rows.push(row)
    }
    rows.sort((a, b) => b[def.orderBy] - a[def.orderBy] || byCodePoint(a.value, b.value))
    out[name] = rows.slice(0, limit).map((row) => def.shape(row))
  }
  return out
}

/** The most used first, as the dashboard lists them. */
function keysOf(t: Pick<Tallied, 'propKeys'>): string[] {
  return [...t.propKeys].sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0])).map(([k]) => k)
}

function propRows(t: Pick<Tallied, 'propRows'>, limit: number): PropValueRow[] {
  return [...t.propRows.values()]
    .sort((a, b) => b.visitors - a.visitors || b.events - a.events || byCodePoint(a.value, b.value))
    .slice(0, limit)
}

export function filteredReport(input: FilteredReportInput): FilteredStatsReport {
  const { query } = input
  const match = compileFilters(query.filters)
  const current = tally(input.current, query, query.current.totals, query.current.series, match)
  const previous =
    query.previous && input.previous
      ? tally(input.previous, query, query.previous.totals, null, match, false)
      : null
  // Asked of the sessions rather than of `record_since`: a site younger than the record is
  // covered whole although the record began after the period did.
  const partial = input.current.some((s) => s.events === null)
  return assembleReport(query, current, previous, input.recordSince, partial)
}

/** The report of the periods' tallies, whichever engine tallied them. */
export function assembleReport(
  query: StatsQuery,
  current: Tallied,
  previous: Tallied | null,
  recordSince: number | null,
  recordPartial: boolean,
): FilteredStatsReport {
  return {
    site: query.site_id,
    period: query.period,
    timezone: query.timezone,
    filter: query.filter ? `${query.filter.dim}:${query.filter.value}` : null,
    filter_applies_to: query.filters.length ? ['summary', 'timeseries', 'tables'] : [],
    filters: query.filters,
    summary: compareMetrics(
      metricsOf(current.totals),
      previous ? metricsOf(previous.totals) : null,
    ),
    timeseries: chart(current, query.current.series, query.timezone),
    ...tables(current, query.limit),
    ...propertiesPart(query, current),
    record_since: recordSince,
    record_partial: recordPartial,
  }
}

/** What the record adds to the counters' view, taken from a whole record report. */
export function recordPropertiesOf(report: FilteredStatsReport): RecordProperties {
  const { prop_keys, props, record_since, record_partial } = report
  return { prop_keys, ...(props ? { props } : {}), record_since, record_partial }
}

/** The report's property keys and, with `props=KEY`, that property's top values. */
export function propertiesPart(
  query: StatsQuery,
  t: Pick<Tallied, 'propKeys' | 'propRows'>,
): Pick<FilteredStatsReport, 'prop_keys' | 'props'> {
  return {
    prop_keys: keysOf(t),
    ...(query.props ? { props: { [query.props]: propRows(t, query.limit) } } : {}),
  }
}

/** The property keys the period's events carry (for the dashboard's properties panel). */
export function propertyKeys(sessions: readonly RecordSession[], query: StatsQuery): string[] {
  return keysOf(tally(sessions, query, query.current.totals, null, compileFilters(query.filters)))
}
