import { HOUR_MS } from '../core/calendar.ts'
import { SESSION_DIMENSIONS, sessionDimensionValues, zeroCounters } from '../core/rollup-deltas.ts'
import { isInteraction, PAGE_VIEW } from '../core/session-rules.ts'
import { type Filter, isEventDimension, PROP_PREFIX } from '../core/stats-filters.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import type { Counters, SessionState } from '../core/types.ts'
import { BREAKDOWNS } from '../queries/breakdowns.ts'
import { type Candidates, isCandidate, overlapsUnrecorded } from './candidate-index.ts'
import {
  type Codes,
  type ColumnarPart,
  type Dictionaries,
  type Dictionary,
  SESSION_COLUMNS,
  visitorGroups,
} from './columnar-record.ts'
import { testValues } from './filter-values.ts'
import {
  assembleReport,
  type FilteredStatsReport,
  type PropValueRow,
  type Tallied,
} from './filtered-report.ts'
import { listedValues } from './listed-values.ts'
import { type MsWindow, msWindow, readWindow } from './period-window.ts'

/**
 * filteredReport (filtered-report.ts) over the columns of columnar-record.ts: the same report,
 * figure for figure (a property-based test holds the two equal), without an object per
 * session or event. What changes is only how the work is laid out:
 *
 * - filters are tested once per distinct value of their dictionary, then looked up by number;
 * - a visitor's sessions are adjacent, so their visitor-days and the values seen in each are
 *   settled when the visitor's last session is read, in small arrays reused for every visitor;
 * - table rows are arrays indexed by value number, turned into the report's maps at the end.
 *
 * The parts hold disjoint sessions of one site (the closed days held in memory and the open
 * tail read per query); a visitor's sessions may be spread over them.
 *
 * The work is in three steps, so the middle one can run on worker threads (scan-pool.ts):
 * `tallySpecs` compiles the query against the dictionaries into numbers; `scanTally` reads
 * the parts with those numbers alone and returns arrays, for all visitors or a share of them
 * (shares' arrays add up, `addTally`, as every count is per visitor); `reportOfTallies` turns
 * the arrays back into texts and the report.
 */

export interface ColumnarReportInput {
  dicts: Dictionaries
  parts: readonly ColumnarPart[]
  query: StatsQuery
  recordSince: number | null
  /** The groups of `parts[0]` the query's filters can keep (candidate-index.ts); none: all. */
  candidates?: Candidates | null
}

/** The session dimensions the roll-up counts a session under even when empty (session-values.ts). */
const COUNTED_WHEN_EMPTY = new Set<string>(
  sessionDimensionValues(
    Object.fromEntries(SESSION_DIMENSIONS.map((dim) => [dim, ''])) as unknown as SessionState,
  ).map(([dim]) => dim),
)

/** Columns a session is counted under in the tables (forEachSessionValue's list). */
const COUNTED: readonly number[] = SESSION_COLUMNS.flatMap((dim, c) =>
  (SESSION_DIMENSIONS as readonly string[]).includes(dim) || dim === 'entry_page' ? [c] : [],
)
const EXIT_COLUMN = SESSION_COLUMNS.indexOf('exit_page')

/**
 * Per column, the session counters its table shows (BREAKDOWNS): the others are left at 0,
 * which the tables never read. Most read visitors and sessions only.
 */
const SHOWN: ReadonlyArray<ReadonlySet<string>> = SESSION_COLUMNS.map(
  (dim) =>
    new Set(
      Object.values(BREAKDOWNS)
        .filter((def) => def.dim === dim)
        .flatMap((def) => [...def.counters]),
    ),
)

/** The counted columns some table shows (the report reads no others). */
const TABLED: readonly number[] = COUNTED.filter((c) => (SHOWN[c] as ReadonlySet<string>).size > 0)

const MARK_PAGE = 0
const MARK_EVENT = 1
const MARK_PROP = 2

interface SessionCondition {
  column: number
  ok: Uint8Array
}
interface EventCondition {
  kind: typeof MARK_PAGE | typeof MARK_EVENT | typeof MARK_PROP
  /** The property's key number (-1: nobody sent it). */
  key: number
  ok: Uint8Array
  negate: boolean
}

/**
 * session-match.ts' compileFilters over value numbers: plain data, so a scan worker
 * (scan-pool.ts) gets it without the dictionaries' texts.
 */
export interface MatchSpec {
  readonly needsEvents: boolean
  readonly sessionConditions: SessionCondition[]
  readonly eventConditions: EventCondition[]
  /** Per path number: the page view counts (meets every page condition). */
  readonly countsPage: Uint8Array
  readonly pageView: number
}

function compileMatch(dicts: Dictionaries, filters: readonly Filter[]): MatchSpec {
  const spec: MatchSpec = {
    needsEvents: filters.some((f) => isEventDimension(f.dim)),
    sessionConditions: [],
    eventConditions: [],
    countsPage: new Uint8Array(dicts.paths.size).fill(1),
    pageView: dicts.eventTypes.find(PAGE_VIEW),
  }
  for (const filter of filters) {
    const negate = filter.op === 'is_not'
    if (filter.dim === 'page') {
      const ok = testValues(dicts.paths, filter)
      spec.eventConditions.push({ kind: MARK_PAGE, key: -1, ok, negate })
      for (let p = 0; p < ok.length; p++) if ((ok[p] === 1) === negate) spec.countsPage[p] = 0
    } else if (filter.dim === 'event') {
      const ok = testValues(dicts.eventTypes, filter)
      spec.eventConditions.push({ kind: MARK_EVENT, key: -1, ok, negate })
    } else if (filter.dim.startsWith(PROP_PREFIX)) {
      const key = dicts.propKeys.find(filter.dim.slice(PROP_PREFIX.length))
      const ok = testValues(dicts.propValues, filter)
      spec.eventConditions.push({ kind: MARK_PROP, key, ok, negate })
    } else {
      const column = SESSION_COLUMNS.indexOf(filter.dim as (typeof SESSION_COLUMNS)[number])
      const ok = testValues(dicts.columns[column] as Dictionary, filter)
      if (negate) for (let v = 0; v < ok.length; v++) ok[v] = ok[v] ? 0 : 1
      spec.sessionConditions.push({ column, ok })
    }
  }
  return spec
}

class Match {
  readonly needsEvents: boolean
  readonly sessionConditions: SessionCondition[]
  readonly eventConditions: EventCondition[]
  readonly countsPage: Uint8Array
  readonly pageView: number

  constructor(spec: MatchSpec) {
    this.needsEvents = spec.needsEvents
    this.sessionConditions = spec.sessionConditions
    this.eventConditions = spec.eventConditions
    this.countsPage = spec.countsPage
    this.pageView = spec.pageView
  }

  keeps(part: ColumnarPart, s: number): boolean {
    if (this.needsEvents && part.hasEvents[s] === 0) return false
    for (const c of this.sessionConditions) {
      if (c.ok[(part.columns[c.column] as Codes)[s] as number] !== 1) return false
    }
    for (const c of this.eventConditions) {
      if (this.met(c, part, s) === c.negate) return false
    }
    return true
  }

  private met(c: EventCondition, part: ColumnarPart, s: number): boolean {
    const to = part.eventFrom[s + 1] as number
    for (let e = part.eventFrom[s] as number; e < to; e++) {
      if (c.kind === MARK_PAGE) {
        if (part.eventType[e] === this.pageView && c.ok[part.path[e] as number] === 1) return true
      } else if (c.kind === MARK_EVENT) {
        if (c.ok[part.eventType[e] as number] === 1) return true
      } else {
        const pTo = part.propFrom[e + 1] as number
        for (let q = part.propFrom[e] as number; q < pTo; q++) {
          if (part.propKey[q] === c.key && c.ok[part.propValue[q] as number] === 1) return true
        }
      }
    }
    return false
  }
}

/** A session-dimension table's counters, by value number. */
interface ColumnRows {
  readonly sessions: Float64Array
  readonly bounces: Float64Array
  readonly duration: Float64Array
  readonly pageviews: Float64Array
  readonly visitors: Float64Array
}

function columnRows(size: number): ColumnRows {
  return {
    sessions: new Float64Array(size),
    bounces: new Float64Array(size),
    duration: new Float64Array(size),
    pageviews: new Float64Array(size),
    visitors: new Float64Array(size),
  }
}

/** A growing list of numbers. */
class IntList {
  values = new Int32Array(1024)
  length = 0
  push(value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Int32Array(this.values.length * 2)
      bigger.set(this.values)
      this.values = bigger
    }
    this.values[this.length++] = value
  }
}

/** Room for n numbers, reused from visitor to visitor. */
class IntScratch {
  a = new Int32Array(64)
  get(n: number): Int32Array {
    if (n > this.a.length) this.a = new Int32Array(Math.max(n, this.a.length * 2))
    return this.a
  }
}

/** Grows as needed; reused from visitor to visitor. */
class Scratch {
  a = new Float64Array(64)
  get(n: number): Float64Array {
    if (n > this.a.length) {
      const bigger = new Float64Array(Math.max(n, this.a.length * 2))
      bigger.set(this.a)
      this.a = bigger
    }
    return this.a
  }
}

/**
 * What one period's scan needs, as plain data (numbers and typed arrays): a scan worker
 * (scan-worker.ts) gets it by message, without the dictionaries' texts.
 */
export interface TallySpec {
  readonly readWin: MsWindow
  readonly totalsWindow: MsWindow
  /** null: no chart (the previous period). */
  readonly seriesWindow: MsWindow | null
  readonly hourly: boolean
  readonly seriesFrom: number
  readonly seriesSize: number
  /** Table rows too, not only totals and chart. */
  readonly tables: boolean
  /** Dictionary sizes when the query was made: every value number in the parts is below. */
  readonly columnSizes: readonly number[]
  readonly paths: number
  readonly eventTypes: number
  readonly propKeys: number
  readonly propValues: number
  /** Per column: the value number of '' when a session is not counted under it, else -1. */
  readonly skipEmpty: Int32Array
  /** Per event type number: an interaction. */
  readonly interaction: Uint8Array
  /** The `props` key's number, -1 if none or unknown. */
  readonly propKey: number
  readonly match: MatchSpec
}

/** One period's counts as arrays by value number: what a scan returns, and what shares add up to. */
export interface TallyArrays {
  totals: Counters
  partial: boolean
  seriesPageviews: Float64Array
  seriesVisitors: Float64Array
  columnRows: Array<ColumnRows | null>
  exitSessions: Float64Array
  pagePageviews: Float64Array
  pageVisitors: Float64Array
  eventEvents: Float64Array
  eventVisitors: Float64Array
  propKeyCount: Float64Array
  propEvents: Float64Array
  propVisitors: Float64Array
}

/**
 * The visitors a scan reads (a worker's share; all by default): those in blocks `index`,
 * `index + of`, … of 2^blockBits visitor numbers. Interleaved blocks rather than one run each:
 * visitor numbers follow the order the columns were loaded and extended in, so one run could
 * hold most of a period's visitors; a block keeps a share's groups adjacent in memory.
 */
export interface VisitorShare {
  index: number
  of: number
  blockBits: number
}

export const ALL_VISITORS: VisitorShare = { index: 0, of: 1, blockBits: 0 }

function tallySpec(
  dicts: Dictionaries,
  period: StatsQuery['current'],
  series: boolean,
  match: MatchSpec,
  propKey: string | null,
  tables: boolean,
): TallySpec {
  const tz = dicts.timeZone
  const seriesRange = series ? period.series : null
  const skipEmpty = new Int32Array(SESSION_COLUMNS.length).fill(-1)
  SESSION_COLUMNS.forEach((dim, c) => {
    if (!COUNTED_WHEN_EMPTY.has(dim) && dim !== 'entry_page') {
      skipEmpty[c] = (dicts.columns[c] as Dictionary).find('')
    }
  })
  const interaction = new Uint8Array(dicts.eventTypes.size)
  dicts.eventTypes.values.forEach((type, id) => {
    if (isInteraction(type)) interaction[id] = 1
  })
  return {
    readWin: readWindow(period, tz),
    totalsWindow: msWindow(period.totals, tz),
    seriesWindow: seriesRange ? msWindow(seriesRange, tz) : null,
    hourly: seriesRange?.grain === 'hour',
    seriesFrom: seriesRange?.grain === 'hour' ? seriesRange.from : 0,
    seriesSize:
      seriesRange === null
        ? 0
        : seriesRange.grain === 'hour'
          ? seriesRange.to - seriesRange.from + 1
          : dicts.days.size,
    tables,
    columnSizes: dicts.columns.map((d) => d.size),
    paths: dicts.paths.size,
    eventTypes: dicts.eventTypes.size,
    propKeys: dicts.propKeys.size,
    propValues: dicts.propValues.size,
    skipEmpty,
    interaction,
    propKey: propKey === null ? -1 : dicts.propKeys.find(propKey),
    match,
  }
}

/** The query's scans: the current period's, and the previous one's when compared. */
export function tallySpecs(dicts: Dictionaries, query: StatsQuery): TallySpec[] {
  if (query.timezone !== dicts.timeZone) {
    throw new Error(`columnar record in ${dicts.timeZone} asked in ${query.timezone}`)
  }
  const match = compileMatch(dicts, query.filters)
  const current = tallySpec(dicts, query.current, true, match, query.props, true)
  if (!query.previous) return [current]
  return [current, tallySpec(dicts, query.previous, false, match, query.props, false)]
}

/**
 * A visitor-day's distinct values, found in one pass: per value number, the visitor-day
 * (`token`) it was last seen in and its first moment then. Per mark kind, and per column.
 * Tokens only grow, so the tallies of one scan (scanDayTallies) can share one.
 */
class ValueStamps {
  token = 0
  readonly markStamp: Int32Array[]
  readonly markFirst: Float64Array[]
  readonly columnStamp: Array<Int32Array | null>
  readonly columnFirst: Array<Float64Array | null>

  constructor(spec: TallySpec) {
    const size = (n: number) => (spec.tables ? n : 0)
    const markSizes = [spec.paths, spec.eventTypes, spec.propValues] // by MARK_ kind
    this.markStamp = markSizes.map((n) => new Int32Array(size(n)))
    this.markFirst = markSizes.map((n) => new Float64Array(size(n)))
    const columnSize = (c: number) =>
      spec.tables && TABLED.includes(c) ? (spec.columnSizes[c] as number) : -1
    this.columnStamp = SESSION_COLUMNS.map((_, c) =>
      columnSize(c) < 0 ? null : new Int32Array(columnSize(c)),
    )
    this.columnFirst = SESSION_COLUMNS.map((_, c) =>
      columnSize(c) < 0 ? null : new Float64Array(columnSize(c)),
    )
  }
}

/** One period's tally (filtered-report.ts' Tally), visitor by visitor, as arrays. */
class ColumnarTally {
  private readonly totals = zeroCounters()
  private partial = false

  private readonly totalsWindow: MsWindow
  private readonly seriesWindow: MsWindow
  private readonly series: boolean
  private readonly readWin: MsWindow
  private readonly hourly: boolean
  private readonly seriesFrom: number
  private readonly tables: boolean
  private readonly match: Match
  private readonly seriesPageviews: Float64Array
  private readonly seriesVisitors: Float64Array
  private readonly columnRows: Array<ColumnRows | null>
  private readonly skipEmpty: Int32Array
  private readonly exitSessions: Float64Array
  private readonly pagePageviews: Float64Array
  private readonly pageVisitors: Float64Array
  private readonly eventEvents: Float64Array
  private readonly eventVisitors: Float64Array
  private readonly interaction: Uint8Array
  private readonly propKeyCount: Float64Array
  private readonly propEvents: Float64Array
  private readonly propVisitors: Float64Array
  private readonly propKey: number

  // The visitor being read: its days (local day number, first moment) …
  private vdCount = 0
  private vdDay: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private readonly vdFirst = new Scratch()
  // … the session-days (visitor-day, part, session, moment) …
  private smCount = 0
  private smVd: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private smPart: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private smSession: Int32Array<ArrayBufferLike> = new Int32Array(64)
  /** Where the session is in its part's `counted` list, or -1. */
  private smCounted: Int32Array<ArrayBufferLike> = new Int32Array(64)
  /** The `counted` position of the session being added, or -1. */
  private addingCounted = -1
  private readonly smAt = new Scratch()
  // … and the page, event and property marks (visitor-day, kind, value, moment).
  private emCount = 0
  private emVd: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private emKind: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private emValue: Int32Array<ArrayBufferLike> = new Int32Array(64)
  private readonly emAt = new Scratch()
  private readonly smIndex = new IntScratch()
  private readonly emIndex = new IntScratch()
  /** A visitor-day's distinct values (ValueStamps). */
  private readonly stamps: ValueStamps
  private readonly touchedKind = new IntScratch()
  /** Per counted session: a bounce (1) or not. */
  private readonly bounce = new IntScratch()
  private readonly touchedValue = new IntScratch()
  /** Per part: sessions that started in the period (their table rows) … */
  private readonly counted: IntList[]
  /**
   * … and, at the same position, in how many visitor-days of the period each is the only
   * session (its values' visitors): counted with its rows, in the same pass over a column.
   */
  private readonly countedLone: IntList[]
  /** Per part: sessions alone in their visitor-day, first seen in the period, not counted. */
  private readonly lone: IntList[]

  constructor(
    spec: TallySpec,
    private readonly parts: readonly ColumnarPart[],
    stamps?: ValueStamps,
  ) {
    this.readWin = spec.readWin
    this.totalsWindow = spec.totalsWindow
    this.series = spec.seriesWindow !== null
    this.seriesWindow = spec.seriesWindow ?? { from: 0, to: 0 }
    this.hourly = spec.hourly
    this.seriesFrom = spec.seriesFrom
    this.tables = spec.tables
    this.match = new Match(spec.match)
    this.seriesPageviews = new Float64Array(spec.seriesSize)
    this.seriesVisitors = new Float64Array(spec.seriesSize)
    const size = (n: number) => (spec.tables ? n : 0)
    this.columnRows = SESSION_COLUMNS.map((_, c) =>
      spec.tables && TABLED.includes(c) ? columnRows(spec.columnSizes[c] as number) : null,
    )
    this.skipEmpty = spec.skipEmpty
    this.exitSessions = new Float64Array(size(spec.columnSizes[EXIT_COLUMN] as number))
    this.pagePageviews = new Float64Array(size(spec.paths))
    this.pageVisitors = new Float64Array(size(spec.paths))
    this.eventEvents = new Float64Array(size(spec.eventTypes))
    this.eventVisitors = new Float64Array(size(spec.eventTypes))
    this.interaction = spec.interaction
    this.propKeyCount = new Float64Array(size(spec.propKeys))
    this.propKey = spec.propKey
    this.propEvents = new Float64Array(size(spec.propValues))
    this.propVisitors = new Float64Array(size(spec.propValues))
    this.counted = parts.map(() => new IntList())
    this.countedLone = parts.map(() => new IntList())
    this.lone = parts.map(() => new IntList())
    this.stamps = stamps ?? new ValueStamps(spec)
  }

  /** Reads every visitor of the share once, with their sessions from all parts (`readVisitors`). */
  run(share: VisitorShare, candidates: Candidates | null): TallyArrays {
    if (candidates && overlapsUnrecorded(candidates, this.readWin)) this.partial = true
    readVisitors(this.parts, share, candidates, {
      begin: () => {
        this.vdCount = 0
        this.smCount = 0
        this.emCount = 0
      },
      group: (j, part, g) => this.sessionsOf(j, part, g),
      end: () => {
        if (this.vdCount > 0) this.endVisitor()
      },
    })
    return this.finish()
  }

  /** The tally, once every visitor was read: the counted sessions' rows added. */
  finish(): TallyArrays {
    if (this.tables) {
      this.parts.forEach((part, k) => {
        this.countedRows(part, this.counted[k] as IntList, this.countedLone[k] as IntList)
        this.loneVisitors(part, this.lone[k] as IntList)
      })
    }
    return {
      totals: this.totals,
      partial: this.partial,
      seriesPageviews: this.seriesPageviews,
      seriesVisitors: this.seriesVisitors,
      columnRows: this.columnRows,
      exitSessions: this.exitSessions,
      pagePageviews: this.pagePageviews,
      pageVisitors: this.pageVisitors,
      eventEvents: this.eventEvents,
      eventVisitors: this.eventVisitors,
      propKeyCount: this.propKeyCount,
      propEvents: this.propEvents,
      propVisitors: this.propVisitors,
    }
  }

  /** Before a visitor's sessions (scanDayTallies: `add` and `endVisitor` by hand). */
  beginVisitor(): void {
    this.vdCount = 0
    this.smCount = 0
    this.emCount = 0
  }

  /** Whether the visitor being read has a day (else `endVisitor` has nothing to count). */
  hasVisitorDays(): boolean {
    return this.vdCount > 0
  }

  markPartial(): void {
    this.partial = true
  }

  private sessionsOf(k: number, part: ColumnarPart, g: number): void {
    const to = part.groupFrom[g + 1] as number
    const win = this.readWin
    for (let s = part.groupFrom[g] as number; s < to; s++) {
      if ((part.start[s] as number) > win.to || (part.end[s] as number) < win.from) continue
      if (part.hasEvents[s] === 0) this.partial = true
      if (!this.match.keeps(part, s)) continue
      this.add(k, part, s)
    }
  }

  private pageviews(at: number, day: number, n: number): void {
    if (at >= this.totalsWindow.from && at < this.totalsWindow.to) this.totals.pageviews += n
    if (this.series && at >= this.seriesWindow.from && at < this.seriesWindow.to) {
      const i = this.hourly ? Math.floor(at / HOUR_MS) - this.seriesFrom : day
      this.seriesPageviews[i] = (this.seriesPageviews[i] as number) + n
    }
  }

  private visit(day: number, at: number, k: number, s: number): number {
    let vd = -1
    const days = this.vdDay
    for (let i = 0; i < this.vdCount; i++) {
      if (days[i] === day) {
        vd = i
        break
      }
    }
    if (vd === -1) {
      vd = this.vdCount++
      if (vd === days.length) this.vdDay = grow(days)
      this.vdDay[vd] = day
      this.vdFirst.get(vd + 1)[vd] = at
    } else if (at < (this.vdFirst.a[vd] as number)) {
      this.vdFirst.a[vd] = at
    }
    if (this.tables) {
      const m = this.smCount++
      if (m === this.smVd.length) {
        this.smVd = grow(this.smVd)
        this.smPart = grow(this.smPart)
        this.smSession = grow(this.smSession)
        this.smCounted = grow(this.smCounted)
      }
      this.smVd[m] = vd
      this.smPart[m] = k
      this.smSession[m] = s
      this.smCounted[m] = this.addingCounted
      this.smAt.get(m + 1)[m] = at
    }
    return vd
  }

  private mark(vd: number, kind: number, value: number, at: number): void {
    const m = this.emCount++
    if (m === this.emVd.length) {
      this.emVd = grow(this.emVd)
      this.emKind = grow(this.emKind)
      this.emValue = grow(this.emValue)
    }
    this.emVd[m] = vd
    this.emKind[m] = kind
    this.emValue[m] = value
    this.emAt.get(m + 1)[m] = at
  }

  /** Adds session `s` of part `k` (its visitor's), which the filters keep. */
  add(k: number, part: ColumnarPart, s: number): void {
    const start = part.start[s] as number
    const tw = this.totalsWindow
    if (start >= tw.from && start < tw.to) {
      const bounce = part.pageviews[s] === 1 && part.interactions[s] === 0 ? 1 : 0
      const duration = (part.end[s] as number) - start
      this.totals.sessions += 1
      this.totals.bounces += bounce
      this.totals.duration_ms += duration
      // Its table rows are added column by column at the end (tight loops over one array).
      if (this.tables) {
        const counted = this.counted[k] as IntList
        this.addingCounted = counted.length
        counted.push(s)
        ;(this.countedLone[k] as IntList).push(0)
      } else this.addingCounted = -1
    } else this.addingCounted = -1
    if (part.hasEvents[s] === 0) {
      const day = part.startDay[s] as number
      this.pageviews(start, day, part.pageviews[s] as number)
      this.visit(day, start, k, s)
      return
    }
    const match = this.match
    const pageView = match.pageView
    const to = part.eventFrom[s + 1] as number
    let lastDay = -1
    let vd = 0
    for (let e = part.eventFrom[s] as number; e < to; e++) {
      const at = part.at[e] as number
      const day = part.day[e] as number
      // Events are in time order: a session's first event of each day is where its visitor
      // is first seen in it that day.
      if (day !== lastDay) {
        lastDay = day
        vd = this.visit(day, at, k, s)
      }
      const type = part.eventType[e] as number
      if (!this.tables) {
        if (type === pageView && match.countsPage[part.path[e] as number] === 1)
          this.pageviews(at, day, 1)
        continue
      }
      const inTotals = at >= tw.from && at < tw.to
      if (type === pageView) {
        const path = part.path[e] as number
        if (match.countsPage[path] === 1) {
          this.pageviews(at, day, 1)
          if (inTotals) this.pagePageviews[path] = (this.pagePageviews[path] as number) + 1
          this.mark(vd, MARK_PAGE, path, at)
        }
      } else if (this.interaction[type] === 1) {
        if (inTotals) {
          this.totals.events += 1
          this.eventEvents[type] = (this.eventEvents[type] as number) + 1
        }
        this.mark(vd, MARK_EVENT, type, at)
      }
      const pTo = part.propFrom[e + 1] as number
      for (let q = part.propFrom[e] as number; q < pTo; q++) {
        const key = part.propKey[q] as number
        if (inTotals) this.propKeyCount[key] = (this.propKeyCount[key] as number) + 1
        if (key !== this.propKey) continue
        const value = part.propValue[q] as number
        if (inTotals) this.propEvents[value] = (this.propEvents[value] as number) + 1
        this.mark(vd, MARK_PROP, value, at)
      }
    }
  }

  /** Counts the visitor's days, and each value once per day at its first moment. */
  endVisitor(): void {
    const tw = this.totalsWindow
    const sw = this.seriesWindow
    const first = this.vdFirst.a
    for (let vd = 0; vd < this.vdCount; vd++) {
      const at = first[vd] as number
      if (at >= tw.from && at < tw.to) this.totals.visitors += 1
      if (this.series && at >= sw.from && at < sw.to) {
        const i = this.hourly
          ? Math.floor(at / HOUR_MS) - this.seriesFrom
          : (this.vdDay[vd] as number)
        this.seriesVisitors[i] = (this.seriesVisitors[i] as number) + 1
      }
    }
    if (!this.tables) return
    const sm = this.smIndex.get(this.smCount)
    const em = this.emIndex.get(this.emCount)
    for (let vd = 0; vd < this.vdCount; vd++) {
      let n = 0
      for (let m = 0; m < this.smCount; m++) if (this.smVd[m] === vd) sm[n++] = m
      if (n === 1) {
        // One session that day, the common case: counted under its values at the end.
        const m = sm[0] as number
        const at = this.smAt.a[m] as number
        if (at >= tw.from && at < tw.to) {
          const k = this.smPart[m] as number
          const i = this.smCounted[m] as number
          if (i === -1) (this.lone[k] as IntList).push(this.smSession[m] as number)
          else {
            const lone = (this.countedLone[k] as IntList).values
            lone[i] = (lone[i] as number) + 1
          }
        }
      } else {
        this.sessionMarks(n, sm)
      }
      n = 0
      for (let m = 0; m < this.emCount; m++) if (this.emVd[m] === vd) em[n++] = m
      this.eventMarks(n, em)
    }
  }

  /** Session-day marks `index[0..n)` of one visitor-day (several sessions). */
  private sessionMarks(n: number, index: Int32Array): void {
    const tw = this.totalsWindow
    const at = this.smAt.a
    const values = this.touchedValue.get(n)
    for (const c of TABLED) {
      const rows = this.columnRows[c] as ColumnRows
      const skip = this.skipEmpty[c]
      const stamp = this.stamps.columnStamp[c] as Int32Array
      const first = this.stamps.columnFirst[c] as Float64Array
      const token = ++this.stamps.token
      let touched = 0
      for (let i = 0; i < n; i++) {
        const m = index[i] as number
        const v = this.valueOf(c, m)
        if (v === skip) continue
        const t = at[m] as number
        if (stamp[v] !== token) {
          stamp[v] = token
          first[v] = t
          values[touched++] = v
        } else if (t < (first[v] as number)) {
          first[v] = t
        }
      }
      // Each value once, at its first moment that day.
      for (let i = 0; i < touched; i++) {
        const v = values[i] as number
        const t = first[v] as number
        if (t >= tw.from && t < tw.to) rows.visitors[v] = (rows.visitors[v] as number) + 1
      }
    }
  }

  private valueOf(c: number, m: number): number {
    const part = this.parts[this.smPart[m] as number] as ColumnarPart
    return (part.columns[c] as Codes)[this.smSession[m] as number] as number
  }

  /** Page, event and property marks `index[0..n)` of one visitor-day, each value once. */
  private eventMarks(n: number, index: Int32Array): void {
    if (n === 0) return
    const tw = this.totalsWindow
    const at = this.emAt.a
    const kinds = this.touchedKind.get(n)
    const values = this.touchedValue.get(n)
    const token = ++this.stamps.token
    let touched = 0
    for (let i = 0; i < n; i++) {
      const m = index[i] as number
      const kind = this.emKind[m] as number
      const value = this.emValue[m] as number
      const stamp = this.stamps.markStamp[kind] as Int32Array
      const first = this.stamps.markFirst[kind] as Float64Array
      const t = at[m] as number
      if (stamp[value] !== token) {
        stamp[value] = token
        first[value] = t
        kinds[touched] = kind
        values[touched] = value
        touched++
      } else if (t < (first[value] as number)) {
        first[value] = t
      }
    }
    for (let i = 0; i < touched; i++) {
      const kind = kinds[i] as number
      const value = values[i] as number
      const t = (this.stamps.markFirst[kind] as Float64Array)[value] as number
      if (t >= tw.from && t < tw.to) this.countVisitor(kind, value)
    }
  }

  /**
   * The table rows of sessions that started in the period, one column at a time, each
   * column's values read once: the counters its table shows, and its visitors where the
   * session was alone in a visitor-day (`lone`, by position).
   */
  private countedRows(part: ColumnarPart, list: IntList, loneList: IntList): void {
    const sessions = list.values
    const lone = loneList.values
    const count = list.length
    const { pageviews, interactions, start, end } = part
    const bounce = this.bounce.get(count)
    for (let i = 0; i < count; i++) {
      const s = sessions[i] as number
      bounce[i] = pageviews[s] === 1 && interactions[s] === 0 ? 1 : 0
    }
    for (const c of TABLED) {
      const column = part.columns[c] as Codes
      const rows = this.columnRows[c] as ColumnRows
      const skip = this.skipEmpty[c]
      const shown = SHOWN[c] as ReadonlySet<string>
      const withSessions = shown.has('sessions')
      const withBounces = shown.has('bounces')
      const withDuration = shown.has('duration_ms')
      const withPageviews = shown.has('pageviews')
      const { sessions: into, bounces, duration, visitors } = rows
      const views = rows.pageviews
      for (let i = 0; i < count; i++) {
        const s = sessions[i] as number
        const v = column[s] as number
        if (v === skip) continue
        visitors[v] = (visitors[v] as number) + (lone[i] as number)
        if (withSessions) into[v] = (into[v] as number) + 1
        if (withBounces) bounces[v] = (bounces[v] as number) + (bounce[i] as number)
        if (withDuration)
          duration[v] = (duration[v] as number) + ((end[s] as number) - (start[s] as number))
        if (withPageviews) views[v] = (views[v] as number) + (pageviews[s] as number)
      }
    }
    const exits = part.columns[EXIT_COLUMN] as Codes
    for (let i = 0; i < count; i++) {
      const v = exits[sessions[i] as number] as number
      this.exitSessions[v] = (this.exitSessions[v] as number) + 1
    }
  }

  /** Visitors of the visitor-days with one session, counted in the period: by its values. */
  private loneVisitors(part: ColumnarPart, list: IntList): void {
    const sessions = list.values
    const count = list.length
    for (const c of TABLED) {
      const column = part.columns[c] as Codes
      const visitors = (this.columnRows[c] as ColumnRows).visitors
      const skip = this.skipEmpty[c]
      for (let i = 0; i < count; i++) {
        const v = column[sessions[i] as number] as number
        if (v !== skip) visitors[v] = (visitors[v] as number) + 1
      }
    }
  }

  private countVisitor(kind: number, value: number): void {
    const into =
      kind === MARK_PAGE
        ? this.pageVisitors
        : kind === MARK_EVENT
          ? this.eventVisitors
          : this.propVisitors
    into[value] = (into[value] as number) + 1
  }
}

function grow(a: Int32Array<ArrayBufferLike>): Int32Array<ArrayBufferLike> {
  const bigger = new Int32Array(a.length * 2)
  bigger.set(a)
  return bigger
}

/** One period's scan of the visitors in `share`, over parts as `columnarReport` takes them. */
export function scanTally(
  spec: TallySpec,
  parts: readonly ColumnarPart[],
  share: VisitorShare = ALL_VISITORS,
  candidates: Candidates | null = null,
): TallyArrays {
  return new ColumnarTally(spec, parts).run(share, candidates)
}

/**
 * Each spec's tally, `candidates[i]` its groups of the first part; `byDay`: the specs are days
 * with the same candidates, scanned in one pass (scanDayTallies), with the same tallies.
 */
export function scanTallies(
  specs: readonly TallySpec[],
  parts: readonly ColumnarPart[],
  share: VisitorShare,
  candidates: ReadonlyArray<Candidates | null>,
  byDay = false,
): TallyArrays[] {
  if (byDay) return scanDayTallies(specs, parts, share, candidates[0] ?? null)
  return specs.map((spec, i) => scanTally(spec, parts, share, candidates[i] ?? null))
}

/**
 * The tallies of `specs`, the days of one filter set (day-tallies.ts: ascending, disjoint
 * windows, one match and one shape), in one pass over the visitors of `share`: each as
 * `scanTally(specs[i], parts, share, candidates)` gives it, figure for figure.
 *
 * Scanned one by one, a visitor with sessions on many days is read once per day; here its
 * sessions are read once, the filters tested once per session, and each session is added to
 * the tally of every day whose read window it overlaps (usually one), which is the set of
 * sessions that day's own scan adds, in the same order. A day's tally only counts moments
 * within its day, so which other days' sessions it does not see changes none of its figures.
 * The tallies share their value stamps: one visitor's days are ended one after the other.
 */
export function scanDayTallies(
  specs: readonly TallySpec[],
  parts: readonly ColumnarPart[],
  share: VisitorShare = ALL_VISITORS,
  candidates: Candidates | null = null,
): TallyArrays[] {
  const n = specs.length
  if (n === 0) return []
  const stamps = new ValueStamps(specs[0] as TallySpec)
  const tallies = specs.map((spec) => new ColumnarTally(spec, parts, stamps))
  const match = new Match((specs[0] as TallySpec).match)
  const from = new Float64Array(n)
  const to = new Float64Array(n)
  specs.forEach((spec, i) => {
    from[i] = spec.readWin.from
    to[i] = spec.readWin.to
    if (i > 0 && from[i] <= (to[i - 1] as number)) {
      throw new Error('scanDayTallies: days must be ascending and disjoint')
    }
  })
  if (candidates) {
    specs.forEach((spec, i) => {
      if (overlapsUnrecorded(candidates, spec.readWin)) (tallies[i] as ColumnarTally).markPartial()
    })
  }
  const spanFrom = from[0] as number
  const spanTo = to[n - 1] as number
  // Per tally, the visitor it last began (a visitor number can't be -1).
  const begun = new Int32Array(n).fill(-1)
  const touched = new Int32Array(n)
  let touchedCount = 0
  const sessionsOf = (j: number, part: ColumnarPart, g: number, v: number) => {
    const last = part.groupFrom[g + 1] as number
    for (let s = part.groupFrom[g] as number; s < last; s++) {
      const start = part.start[s] as number
      const end = part.end[s] as number
      if (start > spanTo || end < spanFrom) continue
      // The first day whose window ends at or after the session's start.
      let lo = 0
      let hi = n
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((to[mid] as number) < start) lo = mid + 1
        else hi = mid
      }
      if (lo === n || (from[lo] as number) > end) continue
      const kept = match.keeps(part, s)
      for (let i = lo; i < n && (from[i] as number) <= end; i++) {
        const tally = tallies[i] as ColumnarTally
        if (part.hasEvents[s] === 0) tally.markPartial()
        if (!kept) continue
        if (begun[i] !== v) {
          begun[i] = v
          tally.beginVisitor()
          touched[touchedCount++] = i
        }
        tally.add(j, part, s)
      }
    }
  }
  let visitor = -1
  readVisitors(parts, share, candidates, {
    begin: (v) => {
      visitor = v
      touchedCount = 0
    },
    group: (j, part, g) => sessionsOf(j, part, g, visitor),
    end: () => {
      for (let t = 0; t < touchedCount; t++) {
        const tally = tallies[touched[t] as number] as ColumnarTally
        if (tally.hasVisitorDays()) tally.endVisitor()
      }
    },
  })
  return tallies.map((tally) => tally.finish())
}

/** What `readVisitors` calls, visitor by visitor. */
interface VisitorReader {
  /** Visitor `v` is read next. */
  begin(v: number): void
  /** Its sessions in part `j`: that part's group `g`. */
  group(j: number, part: ColumnarPart, g: number): void
  /** Every part's sessions of the visitor were read. */
  end(): void
}

/**
 * Reads every visitor of `share` once, with its groups in all parts, in part order. With
 * `candidates`, only those groups of the first part: a visitor outside them has no kept
 * session there, so it is read from the first later part it is in, as if it had none.
 */
function readVisitors(
  parts: readonly ColumnarPart[],
  share: VisitorShare,
  candidates: Candidates | null,
  reader: VisitorReader,
): void {
  const groupOf = parts.map(visitorGroups)
  // Visitor numbers past a part's table were added to the dictionaries after it was made.
  const groupIn = (j: number, v: number) => {
    const groups = groupOf[j] as Int32Array
    return v < groups.length ? (groups[v] as number) : -1
  }
  /** Whether visitor v was read with an earlier part than k. */
  const readBefore = (k: number, v: number) => {
    for (let j = 0; j < k; j++) {
      const g = groupIn(j, v)
      if (g !== -1 && (j > 0 || !candidates || isCandidate(candidates, g))) return true
    }
    return false
  }
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] as ColumnarPart
    const groups = part.groupVisitor
    const list = k === 0 && candidates ? candidates.groups : null
    const count = list ? list.length : groups.length
    for (let i = 0; i < count; i++) {
      const g = list ? (list[i] as number) : i
      const v = groups[g] as number
      if (share.of > 1 && (v >>> share.blockBits) % share.of !== share.index) continue
      if (k > 0 && readBefore(k, v)) continue
      reader.begin(v)
      reader.group(k, part, g)
      for (let j = k + 1; j < parts.length; j++) {
        const other = groupIn(j, v)
        if (other !== -1) reader.group(j, parts[j] as ColumnarPart, other)
      }
      reader.end()
    }
  }
}

/** Adds the tally of other visitors into `into`: shares are disjoint, so counts just add. */
export function addTally(into: TallyArrays, other: TallyArrays): void {
  for (const key of Object.keys(into.totals) as Array<keyof Counters>) {
    into.totals[key] += other.totals[key]
  }
  into.partial ||= other.partial
  const add = (a: Float64Array, b: Float64Array) => {
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + (b[i] as number)
  }
  add(into.seriesPageviews, other.seriesPageviews)
  add(into.seriesVisitors, other.seriesVisitors)
  into.columnRows.forEach((rows, c) => {
    const more = other.columnRows[c]
    if (!rows || !more) return
    add(rows.sessions, more.sessions)
    add(rows.bounces, more.bounces)
    add(rows.duration, more.duration)
    add(rows.pageviews, more.pageviews)
    add(rows.visitors, more.visitors)
  })
  add(into.exitSessions, other.exitSessions)
  add(into.pagePageviews, other.pagePageviews)
  add(into.pageVisitors, other.pageVisitors)
  add(into.eventEvents, other.eventEvents)
  add(into.eventVisitors, other.eventVisitors)
  add(into.propKeyCount, other.propKeyCount)
  add(into.propEvents, other.propEvents)
  add(into.propVisitors, other.propVisitors)
}

/** A tally of nothing: every figure 0, shaped for `spec`. */
export function emptyTally(spec: TallySpec): TallyArrays {
  return new ColumnarTally(spec, []).run(ALL_VISITORS, null)
}

const NO_ROWS = new Float64Array(0)

/**
 * A tally's arrays in one fixed order, a column without rows as five empty arrays: two
 * tallies' slots line up whatever their specs (day-tallies.ts adds one into another).
 */
export function tallySlots(t: TallyArrays): Float64Array[] {
  return [
    t.seriesPageviews,
    t.seriesVisitors,
    t.exitSessions,
    t.pagePageviews,
    t.pageVisitors,
    t.eventEvents,
    t.eventVisitors,
    t.propKeyCount,
    t.propEvents,
    t.propVisitors,
    ...t.columnRows.flatMap((r) =>
      r
        ? [r.sessions, r.bounces, r.duration, r.pageviews, r.visitors]
        : [NO_ROWS, NO_ROWS, NO_ROWS, NO_ROWS, NO_ROWS],
    ),
  ]
}

/** The buffers of a tally's arrays, for a worker to hand over without a copy. */
export function tallyBuffers(t: TallyArrays): ArrayBuffer[] {
  return tallySlots(t)
    .filter((a) => a !== NO_ROWS)
    .map((a) => a.buffer as ArrayBuffer)
}

/** A tally's arrays as the report's maps, value numbers turned back into texts. */
function tallied(
  dicts: Dictionaries,
  spec: TallySpec,
  t: TallyArrays,
  limit: number,
): Tallied & {
  partial: boolean
} {
  const d = dicts
  const out = {
    totals: t.totals,
    partial: t.partial,
    series: new Map<number | string, { pageviews: number; visitors: number }>(),
    rows: new Map<string, Map<string, Counters>>(),
    propRows: new Map<string, PropValueRow>(),
    propKeys: new Map<string, number>(),
  }
  if (spec.seriesWindow) {
    for (let i = 0; i < t.seriesPageviews.length; i++) {
      const pageviews = t.seriesPageviews[i] as number
      const visitors = t.seriesVisitors[i] as number
      if (pageviews === 0 && visitors === 0) continue
      const bucket = spec.hourly ? spec.seriesFrom + i : (d.days.values[i] as string)
      out.series.set(bucket, { pageviews, visitors })
    }
  }
  if (!spec.tables) return out
  SESSION_COLUMNS.forEach((dim, c) => {
    const rows = t.columnRows[c]
    if (!rows) return
    const values = (d.columns[c] as Dictionary).values
    const byValue = new Map<string, Counters>()
    const listed = listedValues(
      dim,
      {
        sessions: rows.sessions,
        bounces: rows.bounces,
        duration_ms: rows.duration,
        pageviews: rows.pageviews,
        visitors: rows.visitors,
      },
      rows.sessions.length,
      limit,
    )
    for (let v = 0; v < rows.sessions.length; v++) {
      if (listed[v] === 0 || (rows.sessions[v] === 0 && rows.visitors[v] === 0)) continue
      byValue.set(values[v] as string, {
        ...zeroCounters(),
        sessions: rows.sessions[v] as number,
        bounces: rows.bounces[v] as number,
        duration_ms: rows.duration[v] as number,
        pageviews: rows.pageviews[v] as number,
        visitors: rows.visitors[v] as number,
      })
    }
    out.rows.set(dim, byValue)
  })
  const exits = new Map<string, Counters>()
  const exitValues = (d.columns[EXIT_COLUMN] as Dictionary).values
  const exitsListed = listedValues(
    'exit_page',
    { sessions: t.exitSessions },
    t.exitSessions.length,
    limit,
  )
  t.exitSessions.forEach((sessions, v) => {
    if (sessions > 0 && exitsListed[v] === 1) {
      exits.set(exitValues[v] as string, { ...zeroCounters(), sessions })
    }
  })
  out.rows.set('exit_page', exits)
  const pages = new Map<string, Counters>()
  const pagesListed = listedValues(
    'page',
    { pageviews: t.pagePageviews, visitors: t.pageVisitors },
    t.pagePageviews.length,
    limit,
  )
  t.pagePageviews.forEach((pageviews, p) => {
    const visitors = t.pageVisitors[p] as number
    if ((pageviews || visitors) && pagesListed[p] === 1)
      pages.set(d.paths.values[p] as string, { ...zeroCounters(), pageviews, visitors })
  })
  out.rows.set('page', pages)
  const events = new Map<string, Counters>()
  const eventsListed = listedValues(
    'event',
    { events: t.eventEvents, visitors: t.eventVisitors },
    t.eventEvents.length,
    limit,
  )
  t.eventEvents.forEach((count, e) => {
    const visitors = t.eventVisitors[e] as number
    if ((count || visitors) && eventsListed[e] === 1)
      events.set(d.eventTypes.values[e] as string, { ...zeroCounters(), events: count, visitors })
  })
  out.rows.set('event', events)
  t.propKeyCount.forEach((count, k) => {
    if (count) out.propKeys.set(d.propKeys.values[k] as string, count)
  })
  t.propEvents.forEach((count, v) => {
    const visitors = t.propVisitors[v] as number
    if (count || visitors) {
      const value = d.propValues.values[v] as string
      out.propRows.set(value, { value, events: count, visitors })
    }
  })
  return out
}

/** The report from the tallies of `tallySpecs(input.dicts, input.query)`, in that order. */
export function reportOfTallies(
  input: ColumnarReportInput,
  specs: readonly TallySpec[],
  tallies: readonly TallyArrays[],
): FilteredStatsReport {
  const limit = input.query.limit
  const current = tallied(input.dicts, specs[0] as TallySpec, tallies[0] as TallyArrays, limit)
  const previous =
    specs.length > 1
      ? tallied(input.dicts, specs[1] as TallySpec, tallies[1] as TallyArrays, limit)
      : null
  return assembleReport(input.query, current, previous, input.recordSince, current.partial)
}

/**
 * The stats report of the sessions in `parts`, as filteredReport computes it from the same
 * sessions as objects, scanned on this thread. The query's time zone must be the
 * dictionaries'.
 */
export function columnarReport(input: ColumnarReportInput): FilteredStatsReport {
  const specs = tallySpecs(input.dicts, input.query)
  return reportOfTallies(
    input,
    specs,
    specs.map((spec) => scanTally(spec, input.parts, ALL_VISITORS, input.candidates ?? null)),
  )
}
