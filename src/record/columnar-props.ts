import type { StatsQuery } from '../core/stats-query.ts'
import { type ColumnarPart, type Dictionaries, visitorGroups } from './columnar-record.ts'
import type { PropValueRow } from './filtered-report.ts'
import { type MsWindow, msWindow, readWindow } from './period-window.ts'

/**
 * One property's breakdown over every session of the period, and the period's property keys:
 * what an unfiltered `props=KEY` question asks of the record. The rest of such a page comes
 * from the counters, so this pass counts only what the full tally (columnar-report.ts) would
 * count for `props` and `prop_keys` with no filter — figure for figure (a property test
 * holds the two equal) — and skips its tables, marks and visitor-days of everything else:
 * the part of the work the breakdown needs is a read of each event's property range.
 *
 * - `events`: events in the period carrying the key with that value;
 * - `visitors`: visitor-days whose first event carrying the value (in any of the visitor's
 *   sessions the period reads) is in the period;
 * - `prop_keys`: keys by events in the period carrying them.
 */
export interface ColumnarProps {
  rows: Map<string, PropValueRow>
  keys: Map<string, number>
  /** Some session of the period predates the record (no events known). */
  partial: boolean
}

/** Marks of one visitor compared pairwise up to this many; a map beyond. */
const SMALL = 16

export function columnarProps(
  dicts: Dictionaries,
  parts: readonly ColumnarPart[],
  query: StatsQuery,
): ColumnarProps {
  if (query.timezone !== dicts.timeZone) {
    throw new Error(`columnar record in ${dicts.timeZone} asked in ${query.timezone}`)
  }
  const key = query.props === null ? -1 : dicts.propKeys.find(query.props)
  const read = readWindow(query.current, query.timezone)
  const totals = msWindow(query.current.totals, query.timezone)
  return propsOf(dicts, propsCounts(dicts, parts, key, read, totals, null))
}

/** The pass's counts by key and value number (day-props.ts adds days of them up). */
export interface PropsCounts {
  keyCount: Float64Array
  valueEvents: Float64Array
  valueVisitors: Float64Array
  partial: boolean
}

/** The counts as the report's maps, numbers turned back into texts. */
export function propsOf(dicts: Dictionaries, counts: PropsCounts): ColumnarProps {
  const rows = new Map<string, PropValueRow>()
  counts.valueEvents.forEach((events, v) => {
    const visitors = counts.valueVisitors[v] as number
    if (events || visitors) {
      const value = dicts.propValues.values[v] as string
      rows.set(value, { value, events, visitors })
    }
  })
  const keys = new Map<string, number>()
  counts.keyCount.forEach((count, k) => {
    if (count) keys.set(dicts.propKeys.values[k] as string, count)
  })
  return { rows, keys, partial: counts.partial }
}

/**
 * The pass over the sessions that overlap `read`, counting what is in `totals`, for the key
 * number `key`. With `firstGroups`, only those groups of `parts[0]` (ascending) are read: a
 * visitor outside them is read from the first later part it is in, as if it had no session
 * in `parts[0]` (the caller knows it has none that overlaps `read`).
 */
export function propsCounts(
  dicts: Dictionaries,
  parts: readonly ColumnarPart[],
  key: number,
  read: MsWindow,
  totals: MsWindow,
  firstGroups: Int32Array | null,
): PropsCounts {
  const keyCount = new Float64Array(dicts.propKeys.size)
  const valueEvents = new Float64Array(dicts.propValues.size)
  const valueVisitors = new Float64Array(dicts.propValues.size)
  let partial = false
  // The visitor being read: its marks of the key's values (local day, value, moment).
  const marks = new Marks()
  // A visitor's sessions may be spread over the parts: all of them are read when it is first
  // met. One loop, no closures: this pass runs over every event of the period.
  const groups = parts.map(visitorGroups)
  for (let k = 0; k < parts.length; k++) {
    const first = parts[k] as ColumnarPart
    const list = k === 0 ? firstGroups : null
    const n = list ? list.length : first.groupVisitor.length
    for (let i = 0; i < n; i++) {
      const g = list ? (list[i] as number) : i
      const v = first.groupVisitor[g] as number
      let earlier = false
      for (let j = 0; j < k && !earlier; j++) {
        const other = (groups[j] as Int32Array)[v] ?? -1
        earlier = other !== -1 && (j > 0 || firstGroups === null || listed(firstGroups, other))
      }
      if (earlier) continue
      for (let j = k; j < parts.length; j++) {
        const part = parts[j] as ColumnarPart
        const group = j === k ? g : ((groups[j] as Int32Array)[v] ?? -1)
        if (group === -1) continue
        const sTo = part.groupFrom[group + 1] as number
        for (let s = part.groupFrom[group] as number; s < sTo; s++) {
          if ((part.start[s] as number) > read.to || (part.end[s] as number) < read.from) continue
          if (part.hasEvents[s] === 0) {
            partial = true
            continue
          }
          const eFrom = part.eventFrom[s] as number
          const eTo = part.eventFrom[s + 1] as number
          // Most sessions carry no property at all: one comparison skips their events.
          if (part.propFrom[eFrom] === part.propFrom[eTo]) continue
          for (let e = eFrom; e < eTo; e++) {
            const pFrom = part.propFrom[e] as number
            const pTo = part.propFrom[e + 1] as number
            if (pFrom === pTo) continue
            const at = part.at[e] as number
            const inTotals = at >= totals.from && at < totals.to
            for (let q = pFrom; q < pTo; q++) {
              const pk = part.propKey[q] as number
              if (inTotals) keyCount[pk] = (keyCount[pk] as number) + 1
              if (pk !== key) continue
              const value = part.propValue[q] as number
              if (inTotals) valueEvents[value] = (valueEvents[value] as number) + 1
              marks.push(part.day[e] as number, value, at)
            }
          }
        }
      }
      marks.countFirsts(totals, valueVisitors)
    }
  }
  return { keyCount, valueEvents, valueVisitors, partial }
}

/** Whether g is in the ascending list (a binary search). */
function listed(list: Int32Array, g: number): boolean {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const at = list[mid] as number
    if (at === g) return true
    if (at < g) lo = mid + 1
    else hi = mid
  }
  return false
}

/** One visitor's marks of the key's values, reused from visitor to visitor. */
class Marks {
  private n = 0
  private day = new Int32Array(64)
  private value = new Int32Array(64)
  private at = new Float64Array(64)

  push(day: number, value: number, at: number): void {
    if (this.n === this.day.length) {
      const size = this.n * 2
      const day = new Int32Array(size)
      day.set(this.day)
      this.day = day
      const values = new Int32Array(size)
      values.set(this.value)
      this.value = values
      const ats = new Float64Array(size)
      ats.set(this.at)
      this.at = ats
    }
    this.day[this.n] = day
    this.value[this.n] = value
    this.at[this.n] = at
    this.n++
  }

  /** Each (day, value) of the visitor once, at its first moment, when that is in `totals`. */
  countFirsts(totals: { from: number; to: number }, visitors: Float64Array): void {
    const n = this.n
    if (n === 0) return
    this.n = 0
    const { day, value, at } = this
    if (n > SMALL) {
      const first = new Map<number, { value: number; at: number }>()
      for (let i = 0; i < n; i++) {
        const id = (day[i] as number) * 2 ** 26 + (value[i] as number)
        const known = first.get(id)
        if (!known) first.set(id, { value: value[i] as number, at: at[i] as number })
        else if ((at[i] as number) < known.at) known.at = at[i] as number
      }
      for (const mark of first.values()) {
        if (mark.at >= totals.from && mark.at < totals.to)
          visitors[mark.value] = (visitors[mark.value] as number) + 1
      }
      return
    }
    for (let i = 0; i < n; i++) {
      let earliest = at[i] as number
      let repeat = false
      for (let j = 0; j < n && !repeat; j++) {
        if (j === i || day[j] !== day[i] || value[j] !== value[i]) continue
        if (j < i) repeat = true
        else earliest = Math.min(earliest, at[j] as number)
      }
      if (!repeat && earliest >= totals.from && earliest < totals.to) {
        const v = value[i] as number
        visitors[v] = (visitors[v] as number) + 1
      }
    }
  }
}
