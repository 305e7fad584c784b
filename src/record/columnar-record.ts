import { localDay } from '../core/calendar.ts'
import { FILTER_SESSION_DIMENSIONS, type FilterSessionDimension } from '../core/stats-filters.ts'
import { propText } from './session-match.ts'
import type { RecordSession } from './session-record.ts'

/**
 * A site's record held in memory as columns (issue 26, item 5): what the columnar report
 * (columnar-report.ts) scans instead of building an object per session and event.
 *
 * - Every text is a number of a dictionary (`Dictionaries`), shared by all the parts of a
 *   site, so a filter is tested once per distinct value, not once per session or event.
 * - Sessions are grouped by visitor (`groupFrom`): a visitor's days and the values they were
 *   seen under are settled in one pass over the visitor's few sessions, with no hash of every
 *   visitor-day of the period.
 * - A session's events are a range of flat event columns (`eventFrom`), in the order the
 *   record gives them (time order); an event's properties a range of key and value numbers.
 * - Days are the site's local days in the part's time zone, as numbers of `days`: a part is
 *   asked only by queries in that zone.
 */

/** One text column per filterable session dimension, in this order. */
export const SESSION_COLUMNS = FILTER_SESSION_DIMENSIONS
export type SessionColumn = FilterSessionDimension

/** Text ↔ number, append-only: numbers stay valid as parts are added. */
export class Dictionary {
  private readonly ids = new Map<string, number>()
  readonly values: string[] = []

  id(value: string): number {
    let id = this.ids.get(value)
    if (id === undefined) {
      id = this.values.length
      this.ids.set(value, id)
      this.values.push(value)
    }
    return id
  }

  /** The number of a value if known, else -1 (a filter's value nobody sent). */
  find(value: string): number {
    return this.ids.get(value) ?? -1
  }

  get size(): number {
    return this.values.length
  }

  /** Roughly what the strings and the map hold (UTF-16 text, map entry, array slot). */
  bytes(): number {
    let chars = 0
    for (const v of this.values) chars += v.length
    return chars * 2 * 2 + this.values.length * 80
  }
}

export class Dictionaries {
  readonly columns: Dictionary[] = SESSION_COLUMNS.map(() => new Dictionary())
  readonly visitors = new Dictionary()
  readonly days = new Dictionary()
  readonly eventTypes = new Dictionary()
  readonly paths = new Dictionary()
  readonly propKeys = new Dictionary()
  readonly propValues = new Dictionary()

  constructor(readonly timeZone: string) {}

  bytes(): number {
    let total = 0
    for (const d of this.columns) total += d.bytes()
    for (const d of [
      this.visitors,
      this.days,
      this.eventTypes,
      this.paths,
      this.propKeys,
      this.propValues,
    ])
      total += d.bytes()
    return total
  }
}

/**
 * A session column's value numbers, in the narrowest array its part's largest number fits:
 * most dimensions have under 256 values, so a session's 16 columns take 16 bytes, not 64.
 */
export type Codes = Uint8Array | Uint16Array | Int32Array

/** Sessions, grouped by visitor, and their events, as columns. */
export interface ColumnarPart {
  readonly sessions: number
  /** Per visitor group: its visitor's number, and where its sessions begin (one more entry). */
  readonly groupVisitor: Int32Array
  readonly groupFrom: Int32Array
  readonly start: Float64Array
  readonly end: Float64Array
  readonly pageviews: Int32Array
  readonly interactions: Int32Array
  /** The local day of the session's start (a session without events counts there). */
  readonly startDay: Int32Array
  /** 0 for a session from before the record (`events: null`). */
  readonly hasEvents: Uint8Array
  /** One per SESSION_COLUMNS entry. */
  readonly columns: Codes[]
  /** Where each session's events begin (one more entry than sessions). */
  readonly eventFrom: Int32Array
  readonly at: Float64Array
  readonly day: Int32Array
  readonly eventType: Int32Array
  readonly path: Int32Array
  /** Where each event's properties begin (one more entry than events). */
  readonly propFrom: Int32Array
  readonly propKey: Int32Array
  readonly propValue: Int32Array
}

export function partBytes(part: ColumnarPart): number {
  let total = 0
  for (const value of Object.values(part)) {
    if (ArrayBuffer.isView(value)) total += value.byteLength
  }
  for (const column of part.columns) total += column.byteLength
  return total
}

/** Grows a typed array by doubling as values are pushed. */
class Growing<T extends Float64Array | Int32Array | Uint8Array> {
  length = 0
  constructor(
    private array: T,
    private readonly make: (n: number) => T,
  ) {}
  push(value: number): void {
    if (this.length === this.array.length) {
      const bigger = this.make(this.array.length * 2 || 16)
      bigger.set(this.array)
      this.array = bigger
    }
    this.array[this.length++] = value
  }
  done(): T {
    return this.array.slice(0, this.length) as T
  }
}

const f64 = () => new Growing(new Float64Array(1024), (n) => new Float64Array(n))
const i32 = () => new Growing(new Int32Array(1024), (n) => new Int32Array(n))

/** Sessions added in any order; `finish` groups them by visitor. */
export class PartBuilder {
  private readonly visitor = i32()
  private readonly start = f64()
  private readonly end = f64()
  private readonly pageviews = i32()
  private readonly interactions = i32()
  private readonly startDay = i32()
  private readonly hasEvents = new Growing(new Uint8Array(1024), (n) => new Uint8Array(n))
  private readonly columns = SESSION_COLUMNS.map(() => i32())
  private readonly eventFrom = i32()
  private readonly at = f64()
  private readonly day = i32()
  private readonly eventType = i32()
  private readonly path = i32()
  private readonly propFrom = i32()
  private readonly propKey = i32()
  private readonly propValue = i32()
  private sessions = 0
  private lastDayQuarter = Number.NaN
  private lastDayId = 0

  constructor(readonly dicts: Dictionaries) {
    this.eventFrom.push(0)
    this.propFrom.push(0)
  }

  private dayOf(at: number): number {
    // Offsets are whole quarter hours (calendar.ts), so a quarter hour has one local day.
    const quarter = Math.floor(at / 900_000)
    if (quarter !== this.lastDayQuarter) {
      this.lastDayQuarter = quarter
      this.lastDayId = this.dicts.days.id(localDay(at, this.dicts.timeZone))
    }
    return this.lastDayId
  }

  add(session: RecordSession): void {
    const d = this.dicts
    this.sessions++
    this.visitor.push(d.visitors.id(session.visitor_id))
    this.start.push(session.start_time)
    this.end.push(session.end_time)
    this.pageviews.push(session.pageviews)
    this.interactions.push(session.interactions)
    this.startDay.push(this.dayOf(session.start_time))
    this.hasEvents.push(session.events === null ? 0 : 1)
    SESSION_COLUMNS.forEach((dim, c) => {
      ;(this.columns[c] as Growing<Int32Array>).push((d.columns[c] as Dictionary).id(session[dim]))
    })
    for (const event of session.events ?? []) {
      this.at.push(event.timestamp)
      this.day.push(this.dayOf(event.timestamp))
      this.eventType.push(d.eventTypes.id(event.event_type))
      this.path.push(d.paths.id(event.path))
      const props = event.props
      if (props) {
        for (const key in props) {
          const text = propText(props[key])
          if (text === null) continue
          this.propKey.push(d.propKeys.id(key))
          this.propValue.push(d.propValues.id(text))
        }
      }
      this.propFrom.push(this.propKey.length)
    }
    this.eventFrom.push(this.at.length)
  }

  /** What the finished part's columns will take, about. */
  bytes(): number {
    const perSession = 8 * 2 + 4 * 5 + 1 + 4 * SESSION_COLUMNS.length
    return this.sessions * perSession + this.at.length * 24 + this.propKey.length * 8
  }

  get size(): number {
    return this.sessions
  }

  finish(): ColumnarPart {
    return groupByVisitor({
      sessions: this.sessions,
      visitor: this.visitor.done(),
      start: this.start.done(),
      end: this.end.done(),
      pageviews: this.pageviews.done(),
      interactions: this.interactions.done(),
      startDay: this.startDay.done(),
      hasEvents: this.hasEvents.done(),
      columns: this.columns.map((c) => c.done()),
      eventFrom: this.eventFrom.done(),
      at: this.at.done(),
      day: this.day.done(),
      eventType: this.eventType.done(),
      path: this.path.done(),
      propFrom: this.propFrom.done(),
      propKey: this.propKey.done(),
      propValue: this.propValue.done(),
    })
  }
}

/** Parts' columns before grouping: sessions in any order, each with its visitor. */
interface Loose extends Omit<ColumnarPart, 'groupVisitor' | 'groupFrom'> {
  visitor: Int32Array
}

function visitorOf(part: ColumnarPart): Int32Array {
  const out = new Int32Array(part.sessions)
  for (let g = 0; g + 1 < part.groupFrom.length; g++) {
    out.fill(part.groupVisitor[g] as number, part.groupFrom[g], part.groupFrom[g + 1])
  }
  return out
}

/** One part of two (a site's record extended by a later or an earlier stretch). */
export function mergeParts(a: ColumnarPart, b: ColumnarPart): ColumnarPart {
  const cat = <T extends Float64Array | Int32Array | Uint8Array>(x: T, y: T): T => {
    const out = new (x.constructor as new (n: number) => T)(x.length + y.length)
    out.set(x)
    out.set(y, x.length)
    return out
  }
  const shifted = (offsets: Int32Array, by: number) => offsets.subarray(1).map((o) => o + by)
  return groupByVisitor({
    sessions: a.sessions + b.sessions,
    visitor: cat(visitorOf(a), visitorOf(b)),
    start: cat(a.start, b.start),
    end: cat(a.end, b.end),
    pageviews: cat(a.pageviews, b.pageviews),
    interactions: cat(a.interactions, b.interactions),
    startDay: cat(a.startDay, b.startDay),
    hasEvents: cat(a.hasEvents, b.hasEvents),
    // Wide here; grouping narrows them again.
    columns: a.columns.map((c, i) => {
      const other = b.columns[i] as Codes
      const out = new Int32Array(c.length + other.length)
      out.set(c)
      out.set(other, c.length)
      return out
    }),
    eventFrom: cat(a.eventFrom, shifted(b.eventFrom, a.at.length)),
    at: cat(a.at, b.at),
    day: cat(a.day, b.day),
    eventType: cat(a.eventType, b.eventType),
    path: cat(a.path, b.path),
    propFrom: cat(a.propFrom, shifted(b.propFrom, a.propKey.length)),
    propKey: cat(a.propKey, b.propKey),
    propValue: cat(a.propValue, b.propValue),
  })
}

/** The part without the sessions that ended before `lower` (days no query reaches any more). */
export function endedFrom(part: ColumnarPart, lower: number): ColumnarPart {
  const keep = new Uint8Array(part.sessions)
  for (let s = 0; s < part.sessions; s++) keep[s] = (part.end[s] as number) >= lower ? 1 : 0
  const { groupVisitor: _, groupFrom: __, ...columns } = part
  return groupByVisitor({ ...columns, visitor: visitorOf(part) }, keep)
}

type Column = Float64Array | Int32Array | Uint16Array | Uint8Array
type ColumnType<T extends Column> = {
  new (buffer: SharedArrayBuffer): T
  readonly BYTES_PER_ELEMENT: number
}

/**
 * A part's column of n numbers, over shared memory: the part is posted to the scan workers
 * (scan-pool.ts) without a copy, once, and read by all of them.
 */
function shared<T extends Column>(type: ColumnType<T>, n: number): T {
  return new type(new SharedArrayBuffer(n * type.BYTES_PER_ELEMENT))
}

function typeOf<T extends Column>(column: T): ColumnType<T> {
  return column.constructor as unknown as ColumnType<T>
}

/**
 * Reorders sessions (and their events) so each visitor's are contiguous: a counting sort.
 * With `keep`, only the sessions it marks. The columns it makes are shared (`shared`).
 */
function groupByVisitor(loose: Loose, keep?: Uint8Array): ColumnarPart {
  const all = loose.sessions
  let visitors = 0
  for (let s = 0; s < all; s++) visitors = Math.max(visitors, (loose.visitor[s] as number) + 1)
  const count = new Int32Array(visitors + 1)
  let n = 0
  for (let s = 0; s < all; s++) {
    if (keep && keep[s] === 0) continue
    n++
    const v = (loose.visitor[s] as number) + 1
    count[v] = (count[v] as number) + 1
  }
  for (let v = 0; v < visitors; v++) count[v + 1] = (count[v + 1] as number) + (count[v] as number)
  const next = count.slice(0, visitors)
  const order = new Int32Array(n)
  for (let s = 0; s < all; s++) {
    if (keep && keep[s] === 0) continue
    const v = loose.visitor[s] as number
    order[next[v] as number] = s
    next[v] = (next[v] as number) + 1
  }
  let groups = 0
  for (let v = 0; v < visitors; v++) if ((count[v + 1] as number) > (count[v] as number)) groups++
  const groupVisitor = shared(Int32Array, groups)
  const groupFrom = shared(Int32Array, groups + 1)
  let g = 0
  for (let v = 0; v < visitors; v++) {
    if ((count[v + 1] as number) === (count[v] as number)) continue
    groupVisitor[g] = v
    groupFrom[g] = count[v] as number
    g++
  }
  groupFrom[groups] = n

  /** `column`'s values at `index`, in that order, into `out`. */
  const gather = <T extends Column | Codes>(
    column: Column | Codes,
    index: Int32Array,
    out: T,
  ): T => {
    for (let i = 0; i < out.length; i++) out[i] = column[index[i] as number] as number
    return out
  }
  const pick = <T extends Column>(column: T): T => gather(column, order, shared(typeOf(column), n))
  // Events and properties follow their sessions.
  let events = 0
  for (let i = 0; i < n; i++) {
    const s = order[i] as number
    events += (loose.eventFrom[s + 1] as number) - (loose.eventFrom[s] as number)
  }
  const eventFrom = shared(Int32Array, n + 1)
  const eventOrder = new Int32Array(events)
  let e = 0
  for (let i = 0; i < n; i++) {
    const s = order[i] as number
    eventFrom[i] = e
    for (let k = loose.eventFrom[s] as number; k < (loose.eventFrom[s + 1] as number); k++)
      eventOrder[e++] = k
  }
  eventFrom[n] = e
  const pickEvents = <T extends Float64Array | Int32Array>(column: T): T =>
    gather(column, eventOrder, shared(typeOf(column), events))
  let props = 0
  for (let i = 0; i < events; i++) {
    const k = eventOrder[i] as number
    props += (loose.propFrom[k + 1] as number) - (loose.propFrom[k] as number)
  }
  const propFrom = shared(Int32Array, events + 1)
  const propKey = shared(Int32Array, props)
  const propValue = shared(Int32Array, props)
  let p = 0
  for (let i = 0; i < events; i++) {
    const k = eventOrder[i] as number
    propFrom[i] = p
    for (let q = loose.propFrom[k] as number; q < (loose.propFrom[k + 1] as number); q++) {
      propKey[p] = loose.propKey[q] as number
      propValue[p] = loose.propValue[q] as number
      p++
    }
  }
  propFrom[events] = p
  return {
    sessions: n,
    groupVisitor,
    groupFrom,
    start: pick(loose.start),
    end: pick(loose.end),
    pageviews: pick(loose.pageviews),
    interactions: pick(loose.interactions),
    startDay: pick(loose.startDay),
    hasEvents: pick(loose.hasEvents),
    columns: loose.columns.map((column) => {
      let max = 0
      for (let i = 0; i < n; i++) max = Math.max(max, column[order[i] as number] as number)
      const out: Codes =
        max < 256
          ? shared(Uint8Array, n)
          : max < 65_536
            ? shared(Uint16Array, n)
            : shared(Int32Array, n)
      return gather(column, order, out)
    }),
    eventFrom,
    at: pickEvents(loose.at),
    day: pickEvents(loose.day),
    eventType: pickEvents(loose.eventType),
    path: pickEvents(loose.path),
    propFrom,
    propKey,
    propValue,
  }
}

/** The columns of some sessions (a test's world, the open tail of a query). */
export function columnarPart(dicts: Dictionaries, sessions: Iterable<RecordSession>): ColumnarPart {
  const builder = new PartBuilder(dicts)
  for (const s of sessions) builder.add(s)
  return builder.finish()
}

/** Per visitor number: its group in the part, or -1. Kept per part: parts do not change. */
const groupsByPart = new WeakMap<ColumnarPart, Int32Array>()

export function visitorGroups(part: ColumnarPart): Int32Array {
  const known = groupsByPart.get(part)
  if (known) return known
  let visitors = 0
  for (const v of part.groupVisitor) visitors = Math.max(visitors, v + 1)
  const out = new Int32Array(visitors).fill(-1)
  part.groupVisitor.forEach((v, g) => {
    out[v] = g
  })
  groupsByPart.set(part, out)
  return out
}
