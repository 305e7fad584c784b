import { PAGE_VIEW } from '../core/session-rules.ts'
import type { Filter } from '../core/stats-filters.ts'
import {
  type Codes,
  type ColumnarPart,
  type Dictionaries,
  type Dictionary,
  SESSION_COLUMNS,
} from './columnar-record.ts'
import { testValues } from './filter-values.ts'
import type { MsWindow } from './period-window.ts'

/**
 * Which visitor groups of a closed part a filtered scan must read (issue 26, item 5): a
 * filter's scan otherwise walks every visitor to keep a quarter of them, and the walk alone
 * (every session's columns, and every event for a page or event filter) is a large share of
 * a filtered page's time at 10 M events.
 *
 * The columnar report counts only the sessions a query keeps: a visitor with no kept session
 * adds nothing (its visitor-days are those of its kept sessions), except that any session
 * without events in the window marks the answer partial. So a scan that reads only the groups
 * holding a kept session, and tells partial apart (`overlapsUnrecorded`), gives the same report.
 *
 * Per dimension of a part, built the first time a filter asks it and kept while the part lives
 * (parts never change; a merge makes a new one): for each value, the groups having a session
 * with it (a session dimension), a page view of it (`page`) or an event of it (`event`), each
 * group once, in group order. A query's candidates are the smallest list among its filters
 * that can give one: `is` and `contains` on those dimensions (a contains filter unites its
 * values' lists). `is not` and property filters give none (every group can hold a session that
 * passes them); a query with no filter that gives one scans every group as before.
 *
 * The lists are shared memory, as the part's columns are, so a list handed to the scan workers
 * (scan-pool.ts) is not copied.
 */
export interface Candidates {
  /** Groups of the part that may hold a kept session (a superset), ascending. */
  readonly groups: Int32Array
  /** The part's sessions without events (from before the record): starts ascending … */
  readonly unrecordedStart: Float64Array
  /** … and the latest end among the sessions up to each. */
  readonly unrecordedEndUpTo: Float64Array
}

/** One dimension's lists: value v's groups are `groups[from[v]..from[v + 1])`. */
interface DimensionIndex {
  readonly from: Int32Array
  readonly groups: Int32Array
}

/** An index that did not fit: the bytes it needs, so it is tried again only when they fit. */
interface TooBig {
  readonly needs: number
}

/** Built per part, per dimension asked. */
interface PartIndexes {
  readonly dimensions: Map<string, DimensionIndex | TooBig>
  unrecorded: { start: Float64Array; endUpTo: Float64Array } | null
  /** The groups with a session ending at or after a moment (`narrowedFrom`), the last asked. */
  endingFrom: { from: number; groups: Int32Array } | null
  bytes: number
}

const indexes = new WeakMap<ColumnarPart, PartIndexes>()

function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4), 0, n)
}

function indexesOf(part: ColumnarPart): PartIndexes {
  let known = indexes.get(part)
  if (!known) {
    known = { dimensions: new Map(), unrecorded: null, endingFrom: null, bytes: 0 }
    indexes.set(part, known)
  }
  return known
}

/** What the candidate lists built for the part hold, in bytes. */
export function candidateIndexBytes(part: ColumnarPart): number {
  return indexes.get(part)?.bytes ?? 0
}

/**
 * What a dimension's lists are built from: per group, a range of items (its sessions, or its
 * events), each with a value number; with `onlyType`, only the events of that type count.
 */
interface Items {
  /** Item ranges: group g's items are `itemsAt[from[g]] .. itemsAt[from[g + 1]]`. */
  from: Int32Array
  /** null: the ranges are `from` itself (items are sessions). */
  itemsAt: Int32Array | null
  values: ArrayLike<number>
  onlyType: { types: Int32Array; type: number } | null
}

/**
 * Lists per value over the part's groups, each group once per value (a stamp per value).
 * Not built when the lists would take more than `room` bytes.
 */
function buildIndex(
  groups: number,
  items: Items,
  size: number,
  room: number,
): DimensionIndex | TooBig {
  const { from, itemsAt, values } = items
  const types = items.onlyType?.types ?? null
  const type = items.onlyType?.type ?? -1
  const stamp = new Int32Array(size).fill(-1)
  const count = new Int32Array(size + 1)
  for (let g = 0; g < groups; g++) {
    const a = from[g] as number
    const b = from[g + 1] as number
    const to = itemsAt ? (itemsAt[b] as number) : b
    for (let i = itemsAt ? (itemsAt[a] as number) : a; i < to; i++) {
      if (types && types[i] !== type) continue
      const v = values[i] as number
      if (stamp[v] === g) continue
      stamp[v] = g
      count[v + 1] = (count[v + 1] as number) + 1
    }
  }
  for (let v = 0; v < size; v++) count[v + 1] = (count[v + 1] as number) + (count[v] as number)
  const needs = ((count[size] as number) + size + 1) * 4
  if (needs > room) return { needs }
  const index = sharedInt32(size + 1)
  index.set(count)
  const next = count.subarray(0, size)
  const list = sharedInt32(count[size] as number)
  stamp.fill(-1)
  for (let g = 0; g < groups; g++) {
    const a = from[g] as number
    const b = from[g + 1] as number
    const to = itemsAt ? (itemsAt[b] as number) : b
    for (let i = itemsAt ? (itemsAt[a] as number) : a; i < to; i++) {
      if (types && types[i] !== type) continue
      const v = values[i] as number
      if (stamp[v] === g) continue
      stamp[v] = g
      const at = next[v] as number
      list[at] = g
      next[v] = at + 1
    }
  }
  return { from: index, groups: list }
}

function largest(column: ArrayLike<number>): number {
  let max = -1
  for (let i = 0; i < column.length; i++) if ((column[i] as number) > max) max = column[i] as number
  return max
}

/** The index of a session column (its number), `page` or `event`; built when first asked. */
function dimensionIndex(
  part: ColumnarPart,
  pageView: number,
  dim: number | 'page' | 'event',
  room: number,
): DimensionIndex | null {
  const held = indexesOf(part)
  const key = String(dim)
  const known = held.dimensions.get(key)
  if (known && 'groups' in known) return known
  if (known && known.needs > room) return null
  const { groupFrom, eventFrom, eventType, path } = part
  const groups = part.groupVisitor.length
  let items: Items
  if (typeof dim === 'number') {
    items = { from: groupFrom, itemsAt: null, values: part.columns[dim] as Codes, onlyType: null }
  } else if (dim === 'page') {
    const onlyType = { types: eventType, type: pageView }
    items = { from: groupFrom, itemsAt: eventFrom, values: path, onlyType }
  } else {
    items = { from: groupFrom, itemsAt: eventFrom, values: eventType, onlyType: null }
  }
  const index = buildIndex(groups, items, largest(items.values) + 1, room)
  held.dimensions.set(key, index)
  if (!('groups' in index)) return null
  held.bytes += index.from.byteLength + index.groups.byteLength
  return index
}

/** The part's sessions without events, for `overlapsUnrecorded`. */
function unrecordedOf(part: ColumnarPart): { start: Float64Array; endUpTo: Float64Array } {
  const held = indexesOf(part)
  if (held.unrecorded) return held.unrecorded
  const sessions: number[] = []
  for (let s = 0; s < part.sessions; s++) if (part.hasEvents[s] === 0) sessions.push(s)
  sessions.sort((a, b) => (part.start[a] as number) - (part.start[b] as number))
  const start = new Float64Array(
    new SharedArrayBuffer(Math.max(1, sessions.length) * 8),
    0,
    sessions.length,
  )
  const endUpTo = new Float64Array(
    new SharedArrayBuffer(Math.max(1, sessions.length) * 8),
    0,
    sessions.length,
  )
  let latest = Number.NEGATIVE_INFINITY
  sessions.forEach((s, i) => {
    start[i] = part.start[s] as number
    latest = Math.max(latest, part.end[s] as number)
    endUpTo[i] = latest
  })
  held.unrecorded = { start, endUpTo }
  held.bytes += start.byteLength + endUpTo.byteLength
  return held.unrecorded
}

/**
 * Whether a session without events of the part overlaps `win` (starts by its end and ends
 * at or after its start), as the full scan finds when it walks them: the answer is partial.
 */
export function overlapsUnrecorded(candidates: Candidates, win: MsWindow): boolean {
  const starts = candidates.unrecordedStart
  // The last session starting at or before win.to: the latest end up to it decides.
  let lo = 0
  let hi = starts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((starts[mid] as number) <= win.to) lo = mid + 1
    else hi = mid
  }
  return lo > 0 && (candidates.unrecordedEndUpTo[lo - 1] as number) >= win.from
}

/**
 * The candidates of a scan whose window starts at `from`: of `candidates` (null: all groups),
 * those with a session that ends at or after it. A group whose sessions all ended before
 * holds none the scan reads, so it can hold no kept session. A scan of the last day or two
 * (day-tallies.ts) then walks a few per cent of a month's groups instead of all of them.
 */
export function narrowedFrom(
  part: ColumnarPart,
  candidates: Candidates | null,
  from: number,
): Candidates {
  const held = indexesOf(part)
  if (held.endingFrom?.from !== from) {
    if (held.endingFrom) held.bytes -= held.endingFrom.groups.byteLength
    held.endingFrom = { from, groups: groupsEndingFrom(part, from) }
    held.bytes += held.endingFrom.groups.byteLength
  }
  const late = held.endingFrom.groups
  const unrecorded = unrecordedOf(part)
  return {
    groups: candidates ? common(candidates.groups, late) : late,
    unrecordedStart: unrecorded.start,
    unrecordedEndUpTo: unrecorded.endUpTo,
  }
}

function groupsEndingFrom(part: ColumnarPart, from: number): Int32Array {
  const { groupFrom, end } = part
  const groups = part.groupVisitor.length
  const out = new Int32Array(groups)
  let n = 0
  for (let g = 0; g < groups; g++) {
    const to = groupFrom[g + 1] as number
    for (let s = groupFrom[g] as number; s < to; s++) {
      if ((end[s] as number) >= from) {
        out[n++] = g
        break
      }
    }
  }
  const shared = sharedInt32(n)
  shared.set(out.subarray(0, n))
  return shared
}

/** The numbers in both ascending lists, ascending (shared memory, for the scan workers). */
function common(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(Math.min(a.length, b.length))
  let n = 0
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    const x = a[i] as number
    const y = b[j] as number
    if (x === y) {
      out[n++] = x
      i++
      j++
    } else if (x < y) i++
    else j++
  }
  const shared = sharedInt32(n)
  shared.set(out.subarray(0, n))
  return shared
}

/** Whether a session of `part` without events overlaps `win` (the answer is partial). */
export function unrecordedOverlaps(part: ColumnarPart, win: MsWindow): boolean {
  const unrecorded = unrecordedOf(part)
  return overlapsUnrecorded(
    {
      groups: new Int32Array(0),
      unrecordedStart: unrecorded.start,
      unrecordedEndUpTo: unrecorded.endUpTo,
    },
    win,
  )
}

/** Whether group g is among the candidates (a binary search). */
export function isCandidate(candidates: Candidates, g: number): boolean {
  const groups = candidates.groups
  let lo = 0
  let hi = groups.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const at = groups[mid] as number
    if (at === g) return true
    if (at < g) lo = mid + 1
    else hi = mid
  }
  return false
}

/**
 * The groups of `part` a scan of `filters` must read, or null: read them all. `room`: the
 * bytes an index not yet built may take (the columns' memory bound); past it, no index.
 */
export function candidatesOf(
  dicts: Dictionaries,
  part: ColumnarPart,
  filters: readonly Filter[],
  room: number,
): Candidates | null {
  const pageView = dicts.eventTypes.find(PAGE_VIEW)
  let best: { index: DimensionIndex; ok: Uint8Array; size: number } | null = null
  for (const filter of filters) {
    if (filter.op === 'is_not') continue
    let dim: number | 'page' | 'event'
    let dict: Dictionary
    if (filter.dim === 'page') {
      dim = 'page'
      dict = dicts.paths
    } else if (filter.dim === 'event') {
      dim = 'event'
      dict = dicts.eventTypes
    } else {
      const column = SESSION_COLUMNS.indexOf(filter.dim as (typeof SESSION_COLUMNS)[number])
      if (column < 0) continue // a property
      dim = column
      dict = dicts.columns[column] as Dictionary
    }
    const index = dimensionIndex(part, pageView, dim, room - candidateIndexBytes(part))
    if (!index) continue
    const ok = testValues(dict, filter)
    // Values numbered past the index were first seen after the part was made: none in it.
    const values = Math.min(ok.length, index.from.length - 1)
    let size = 0
    for (let v = 0; v < values; v++) {
      if (ok[v] === 1) size += (index.from[v + 1] as number) - (index.from[v] as number)
    }
    if (!best || size < best.size) best = { index, ok, size }
  }
  if (!best) return null
  const unrecorded = unrecordedOf(part)
  return {
    groups: unitedGroups(part, best.index, best.ok),
    unrecordedStart: unrecorded.start,
    unrecordedEndUpTo: unrecorded.endUpTo,
  }
}

/** The groups of the values `ok` marks, ascending, each once. */
function unitedGroups(part: ColumnarPart, index: DimensionIndex, ok: Uint8Array): Int32Array {
  const values = Math.min(ok.length, index.from.length - 1)
  const marked: number[] = []
  for (let v = 0; v < values; v++) if (ok[v] === 1) marked.push(v)
  if (marked.length === 0) return new Int32Array(0)
  if (marked.length === 1) {
    // One value's list as it is, a view of the shared index: nothing copied.
    const v = marked[0] as number
    return index.groups.subarray(index.from[v] as number, index.from[v + 1] as number)
  }
  const seen = new Uint8Array(part.groupVisitor.length)
  let n = 0
  for (const v of marked) {
    for (let i = index.from[v] as number; i < (index.from[v + 1] as number); i++) {
      const g = index.groups[i] as number
      if (seen[g] === 0) {
        seen[g] = 1
        n++
      }
    }
  }
  const out = sharedInt32(n)
  let k = 0
  for (let g = 0; g < seen.length; g++) if (seen[g] === 1) out[k++] = g
  return out
}
