import type { StatsQuery } from '../core/stats-query.ts'
import type { ColumnarPart, Dictionaries } from './columnar-record.ts'
import type { PropValueRow } from './filtered-report.ts'
import { msWindow, readWindow } from './period-window.ts'

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
  const read = readWindow(query.current, query.timezone)
  const totals = msWindow(query.current.totals, query.timezone)
  const key = query.props === null ? -1 : dicts.propKeys.find(query.props)
  const keyCount = new Float64Array(dicts.propKeys.size)
  const valueEvents = new Float64Array(dicts.propValues.size)
  const valueVisitors = new Float64Array(dicts.propValues.size)
  let partial = false

  // The visitor being read: its marks of the key's values (local day, value, moment).
  let marks = 0
  let markDay = new Int32Array(64)
  let markValue = new Int32Array(64)
  let markAt = new Float64Array(64)

  const sessionsOf = (part: ColumnarPart, g: number) => {
    const to = part.groupFrom[g + 1] as number
    for (let s = part.groupFrom[g] as number; s < to; s++) {
      if ((part.start[s] as number) > read.to || (part.end[s] as number) < read.from) continue
      if (part.hasEvents[s] === 0) {
        partial = true
        continue
      }
      const eTo = part.eventFrom[s + 1] as number
      for (let e = part.eventFrom[s] as number; e < eTo; e++) {
        const pFrom = part.propFrom[e] as number
        const pTo = part.propFrom[e + 1] as number
        if (pFrom === pTo) continue
        const at = part.at[e] as number
        const inTotals = at >= totals.from && at < totals.to
        for (let q = pFrom; q < pTo; q++) {
          const k = part.propKey[q] as number
          if (inTotals) keyCount[k] = (keyCount[k] as number) + 1
          if (k !== key) continue
          const value = part.propValue[q] as number
          if (inTotals) valueEvents[value] = (valueEvents[value] as number) + 1
          if (marks === markDay.length) {
            markDay = grownInt(markDay)
            markValue = grownInt(markValue)
            const at2 = new Float64Array(markAt.length * 2)
            at2.set(markAt)
            markAt = at2
          }
          markDay[marks] = part.day[e] as number
          markValue[marks] = value
          markAt[marks] = at
          marks++
        }
      }
    }
  }

  /** Each (day, value) of the visitor once, at its first moment. */
  const endVisitor = () => {
    if (marks === 0) return
    if (marks > SMALL) {
      const first = new Map<number, { value: number; at: number }>()
      for (let i = 0; i < marks; i++) {
        const id = (markDay[i] as number) * 2 ** 26 + (markValue[i] as number)
        const known = first.get(id)
        const at = markAt[i] as number
        if (!known) first.set(id, { value: markValue[i] as number, at })
        else if (at < known.at) known.at = at
      }
      for (const { value, at } of first.values()) {
        if (at >= totals.from && at < totals.to)
          valueVisitors[value] = (valueVisitors[value] as number) + 1
      }
    } else {
      for (let i = 0; i < marks; i++) {
        let first = markAt[i] as number
        let repeat = false
        for (let j = 0; j < marks && !repeat; j++) {
          if (j === i || markDay[j] !== markDay[i] || markValue[j] !== markValue[i]) continue
          if (j < i) repeat = true
          else first = Math.min(first, markAt[j] as number)
        }
        if (!repeat && first >= totals.from && first < totals.to) {
          const value = markValue[i] as number
          valueVisitors[value] = (valueVisitors[value] as number) + 1
        }
      }
    }
    marks = 0
  }

  // A visitor's sessions may be spread over the parts: read them all when first met.
  const groups = parts.map(groupsOfVisitors)
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k] as ColumnarPart
    for (let g = 0; g < part.groupVisitor.length; g++) {
      const v = part.groupVisitor[g] as number
      let earlier = false
      for (let j = 0; j < k && !earlier; j++) earlier = ((groups[j] as Int32Array)[v] ?? -1) !== -1
      if (earlier) continue
      sessionsOf(part, g)
      for (let j = k + 1; j < parts.length; j++) {
        const other = (groups[j] as Int32Array)[v] ?? -1
        if (other !== -1) sessionsOf(parts[j] as ColumnarPart, other)
      }
      endVisitor()
    }
  }

  const rows = new Map<string, PropValueRow>()
  valueEvents.forEach((events, v) => {
    const visitors = valueVisitors[v] as number
    if (events || visitors) {
      const value = dicts.propValues.values[v] as string
      rows.set(value, { value, events, visitors })
    }
  })
  const keys = new Map<string, number>()
  keyCount.forEach((count, k) => {
    if (count) keys.set(dicts.propKeys.values[k] as string, count)
  })
  return { rows, keys, partial }
}

function grownInt(a: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2)
  bigger.set(a)
  return bigger
}

/** Per visitor number: the visitor's group in the part, or -1. */
function groupsOfVisitors(part: ColumnarPart): Int32Array {
  let visitors = 0
  for (const v of part.groupVisitor) visitors = Math.max(visitors, v + 1)
  const out = new Int32Array(visitors).fill(-1)
  part.groupVisitor.forEach((v, g) => {
    out[v] = g
  })
  return out
}
