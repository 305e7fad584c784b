import { addDays, localDay, startOfLocalDay } from '../core/calendar.ts'
import type { Counters } from '../core/types.ts'
import { type Candidates, narrowedFrom, unrecordedOverlaps } from './candidate-index.ts'
import type { ColumnarPart, Dictionaries } from './columnar-record.ts'
import {
  type ColumnarReportInput,
  emptyTally,
  reportOfTallies,
  type TallyArrays,
  type TallySpec,
  tallySlots,
  tallySpecs,
} from './columnar-report.ts'
import type { FilteredStatsReport } from './filtered-report.ts'
import { type DaysEntry, KeptDays } from './kept-days.ts'
import type { MsWindow } from './period-window.ts'

/**
 * A filtered report's closed days from per-day tallies kept in memory (issue 26, item 5): a
 * 30-day filter otherwise scans a month of kept sessions at every query, about 0.9 µs each,
 * when all but the last day or two of them can no longer change.
 *
 * Why a day's tally can be kept and added: every figure of a tally is counted at one moment
 * (a session at its start, a page view or event at its time, a visitor-day and each value it
 * was seen under at its first moment that day) and only when that moment is in the period's
 * window. Over whole local days the window's figures are the sum of each day's, and a day's
 * figures depend only on the sessions with an event (or their start) that day: visitor-days
 * are per local day. Which sessions a query keeps does not depend on its window either
 * (filters test the whole session). So for a fixed set of sessions, the tally of a window of
 * whole days is the sum of the tallies of its days, each scanned with that day as its window.
 *
 * The closed part never changes, but a visitor-day may also have sessions in the open tail. So
 * a report is split at `split`, the local midnight at or before every tail session's start:
 * the days before it have sessions of the closed part only, and are added from their kept
 * tallies (built once, in one pass, by the first query with those filters that asks them);
 * from `split` on, both parts are scanned as before, with the window starting there. The sum
 * is the report a scan of the whole window gives, figure for figure (day-tallies.test.ts).
 *
 * Only the chart's daily points can be added (an hourly chart, of the 24-hour views, is
 * scanned whole: its window is mostly the tail anyway). Kept per site's closed part and query
 * filters (and `props` key), least recently used first out past `room`. When the closed
 * part is extended (every two hours), the days whose sessions did not change are carried over.
 */

/**
 * Scans specs over `[closed, tail]`, each with its own groups of `closed` (null: all);
 * `byDay`: days of one filter set with the same groups, in one pass (scanDayTallies).
 */
export type ScanTallies = (
  parts: readonly [ColumnarPart, ColumnarPart],
  specs: TallySpec[],
  candidates: Array<Candidates | null>,
  byDay?: boolean,
) => Promise<TallyArrays[]>

/** One local day: its name and the moments it holds, [from, to). */
export interface DayWindow extends MsWindow {
  day: string
}

/** A day's tally, only its figures that are not 0 (a value number and its count per slot). */
interface SparseTally {
  /** The day's moments (its DayWindow's). */
  from: number
  to: number
  totals: Counters
  at: Int32Array[]
  count: Float64Array[]
  bytes: number
}

/**
 * With this many missing days or fewer (an extension's new day or two), their build reads
 * only the groups with a session those days (found on this thread); with more (a filter
 * set's first ask), most candidates have one, and the scan reads them all.
 */
const SCAN_NOW_DAYS = 2

/**
 * What one pass's days' tallies may hold, as the scan makes them (every value number of the
 * dictionaries, not only those counted), per worker and again where the shares are added: a
 * site with large dictionaries builds its days in several passes rather than hold a month
 * of them at once.
 */
const PASS_BYTES = 32 * 1024 * 1024

/** Kept days of a site's closed part (kept-days.ts), and the reports that add them up. */
export class DayTallies extends KeptDays<SparseTally> {
  private readonly builds = new Set<Promise<void>>()

  /** `room`: what the kept days may hold now; `passBytes`: see PASS_BYTES (tests). */
  constructor(
    room: () => number,
    private readonly passBytes = PASS_BYTES,
  ) {
    super(room)
  }

  /** columnarReport over `input.parts` (closed, tail), its closed days added from kept tallies. */
  async report(
    siteId: string,
    input: ColumnarReportInput & { parts: readonly [ColumnarPart, ColumnarPart] },
    scan: ScanTallies,
  ): Promise<FilteredStatsReport> {
    const { dicts, query, parts } = input
    const [closed, tail] = parts
    const candidates = input.candidates ?? null
    const specs = tallySpecs(dicts, query)
    const split = midnightBefore(tail, dicts.timeZone)
    const plans = specs.map((spec) => planOf(spec, split, dicts.timeZone))
    const wanted = new Map<string, DayWindow>()
    for (const plan of plans) for (const day of plan.days) wanted.set(day.day, day)
    if (wanted.size === 0 || this.room() <= 0) {
      this.evict()
      const tallies = await scan(
        parts,
        specs,
        specs.map(() => candidates),
      )
      return reportOfTallies(input, specs, tallies)
    }
    const entry = this.entryOf(siteId, closed, keyOf(query))
    const base = specs[0] as TallySpec
    // A build of this filter set under way is one scan already queued on the workers, which
    // take messages in order: a plain scan now would start after it anyway, so waiting for it
    // and adding its days is the quicker answer.
    while (entry.building) await entry.building
    const missing = [...wanted.values()]
      .filter((day) => !entry.days.has(day.day))
      .sort((a, b) => a.from - b.from)
    // An entry not kept (this query's closed part was replaced) keeps no days for later
    // asks: a build of more than a day or two would cost this answer more than the plain scan.
    if (missing.length > 0 && (!entry.stale || missing.length <= SCAN_NOW_DAYS)) {
      // The missing days are built now, in one pass (about a plain scan of the window, a
      // filter set's first ask), and this answer adds them. Marked as building: an extension
      // meanwhile lets the entry go rather than carry days scanned over the part it replaced,
      // and a query of these filters meanwhile waits for it.
      const groups =
        missing.length <= SCAN_NOW_DAYS
          ? groupsOfDays(closed, dicts, missing, candidates)
          : candidates
      // A failed build leaves its days missing: this answer scans those periods whole, and
      // the next ask builds again.
      await this.building(entry, () =>
        this.scanDays(entry, missing, closed, dicts, base, groups, scan),
      ).catch(() => {})
    }
    // Each period's kept days, taken now: an extension may let them go while this scans (they
    // are still those of this query's closed part). A period with a day missing is scanned
    // whole, as without kept days; the others only after the split, reading the groups with a
    // session ending since then.
    const kept = plans.map((plan) => plan.days.map((day) => entry.days.get(day.day)))
    const whole = kept.map((days) => days.some((day) => day === undefined))
    const asked: TallySpec[] = []
    const groups: Array<Candidates | null> = []
    plans.forEach((plan, i) => {
      if (whole[i]) {
        asked.push(specs[i] as TallySpec)
        groups.push(candidates)
      } else if (plan.live) {
        asked.push(plan.live)
        groups.push(narrowedFrom(closed, candidates, plan.live.readWin.from))
      }
    })
    const scanned = asked.length ? await scan(parts, asked, groups) : []
    let next = 0
    const tallies = specs.map((spec, i) => {
      const plan = plans[i] as Plan
      if (whole[i]) return scanned[next++] as TallyArrays
      const tally = plan.live ? (scanned[next++] as TallyArrays) : emptyTally(spec)
      for (const day of kept[i] as SparseTally[]) addSparse(tally, day, spec.tables)
      if (plan.days.length > 0) {
        const first = plan.days[0] as DayWindow
        const last = plan.days[plan.days.length - 1] as DayWindow
        // A session from before the record in those days makes the answer partial, as the
        // whole scan finds; the tail's sessions all start after them.
        if (unrecordedOverlaps(closed, { from: first.from, to: last.to - 1 })) tally.partial = true
      }
      return tally
    })
    this.evict()
    return reportOfTallies(input, specs, tallies)
  }

  /** Every background build started so far has ended (tests, the bench's diagnostics). */
  async settled(): Promise<void> {
    while (this.builds.size > 0) await Promise.all(this.builds)
  }

  /**
   * Scans `days` (ascending) of the closed part in one pass (scanDayTallies; more if their
   * tallies would exceed `passBytes`), reading `groups` (null: all): every group with a
   * session those days that the filters can keep.
   */
  private async scanDays(
    entry: DaysEntry<SparseTally>,
    days: DayWindow[],
    closed: ColumnarPart,
    dicts: Dictionaries,
    base: TallySpec,
    groups: Candidates | null,
    scan: ScanTallies,
  ): Promise<void> {
    const specs = days.map((day) => daySpec(base, day, dicts.days.size))
    const bytes = tallySlots(emptyTally(specs[0] as TallySpec)).reduce(
      (n, a) => n + a.byteLength,
      0,
    )
    const perPass = Math.max(1, Math.floor(this.passBytes / Math.max(1, bytes)))
    for (let from = 0; from < specs.length; from += perPass) {
      const pass = specs.slice(from, from + perPass)
      const tallies = await scan(
        [closed, emptyPart(closed)],
        pass,
        pass.map(() => groups),
        true,
      )
      pass.forEach((_, i) => {
        const day = days[from + i] as DayWindow
        this.keep(entry, day.day, sparseOf(tallies[i] as TallyArrays, day))
      })
      this.evict()
    }
  }

  /** Runs `run` as the entry's one build (kept-days.ts: `building`). */
  private building(entry: DaysEntry<SparseTally>, run: () => Promise<void>): Promise<void> {
    const done = run().finally(() => {
      entry.building = null
      this.builds.delete(ended)
    })
    const ended: Promise<void> = done.catch(() => {})
    entry.building = ended
    this.builds.add(ended)
    return done
  }
}

/** The filters (in any order) and props key: what a day's tally depends on besides the day. */
function keyOf(query: ColumnarReportInput['query']): string {
  const filters = query.filters.map((f) => JSON.stringify([f.dim, f.op, f.value])).sort()
  return JSON.stringify([filters, query.props])
}

/** The local midnight at or before every session of `part` starts (none: no bound). */
export function midnightBefore(part: ColumnarPart, timeZone: string): number {
  let earliest = Number.POSITIVE_INFINITY
  for (let s = 0; s < part.sessions; s++) earliest = Math.min(earliest, part.start[s] as number)
  if (earliest === Number.POSITIVE_INFINITY) return earliest
  return startOfLocalDay(localDay(earliest, timeZone), timeZone)
}

interface Plan {
  /** Whole days of the window before the split, added from their tallies. */
  days: DayWindow[]
  /** The rest of the window, scanned; null: nothing left. */
  live: TallySpec | null
}

/** Which of a period's days come from kept tallies, and the spec that scans the rest. */
function planOf(spec: TallySpec, split: number, timeZone: string): Plan {
  const totals = spec.totalsWindow
  const series = spec.seriesWindow
  const daily =
    !spec.hourly &&
    (series === null || (series.from === totals.from && series.to === totals.to)) &&
    spec.readWin.from === totals.from &&
    spec.readWin.to === totals.to - 1 &&
    startOfLocalDay(localDay(totals.from, timeZone), timeZone) === totals.from
  if (!daily || split <= totals.from) return { days: [], live: spec }
  const days = daysBefore(totals, split, timeZone)
  const from = days.length ? (days[days.length - 1] as DayWindow).to : totals.from
  if (from >= totals.to) return { days, live: null }
  const clip = (w: MsWindow) => ({ from: Math.max(w.from, from), to: w.to })
  return {
    days,
    live: {
      ...spec,
      readWin: clip(spec.readWin),
      totalsWindow: clip(totals),
      seriesWindow: series && clip(series),
    },
  }
}

/** The whole local days of `window` (starting at a local midnight) that end by `split`. */
export function daysBefore(window: MsWindow, split: number, timeZone: string): DayWindow[] {
  const days: DayWindow[] = []
  let day = localDay(window.from, timeZone)
  let from = window.from
  for (;;) {
    const next = addDays(day, 1)
    const to = startOfLocalDay(next, timeZone)
    if (to > split || to > window.to) break
    days.push({ day, from, to })
    day = next
    from = to
  }
  return days
}

/** The spec of one day's tally: that day its window, with tables and the daily chart. */
export function daySpec(base: TallySpec, day: DayWindow, days: number): TallySpec {
  const window = { from: day.from, to: day.to }
  return {
    ...base,
    readWin: { from: day.from, to: day.to - 1 },
    totalsWindow: window,
    seriesWindow: window,
    hourly: false,
    seriesFrom: 0,
    seriesSize: days,
    tables: true,
  }
}

/**
 * Per day of `days` (ascending), the groups of `closed` (of `candidates`, or all) with a
 * session that starts or has an event that day, ascending: a day's scan reads those only. A
 * session's days are those from its start's to its last event's.
 */
export function dayGroups(
  part: ColumnarPart,
  dicts: Dictionaries,
  days: DayWindow[],
  candidates: Candidates | null,
): Candidates[] {
  // Each day number's local midnight, to place a session's days among the wanted ones.
  const midnight = new Float64Array(dicts.days.size)
  dicts.days.values.forEach((day, id) => {
    midnight[id] = startOfLocalDay(day, dicts.timeZone)
  })
  const starts = days.map((d) => d.from)
  const lists = days.map(() => new GroupList())
  const seen = new Int32Array(days.length).fill(-1)
  const { groupFrom, eventFrom, startDay, day } = part
  const n = candidates ? candidates.groups.length : part.groupVisitor.length
  for (let i = 0; i < n; i++) {
    const g = candidates ? (candidates.groups[i] as number) : i
    for (let s = groupFrom[g] as number; s < (groupFrom[g + 1] as number); s++) {
      const first = midnight[startDay[s] as number] as number
      const events = eventFrom[s + 1] as number
      const last =
        events > (eventFrom[s] as number) ? (midnight[day[events - 1] as number] as number) : first
      for (let k = firstAtOrAfter(starts, first); k < days.length; k++) {
        if ((starts[k] as number) > last) break
        if (seen[k] === g) continue
        seen[k] = g
        ;(lists[k] as GroupList).push(g)
      }
    }
  }
  const none = new Float64Array(0)
  return lists.map((list) => ({
    groups: list.shared(),
    // Whether the answer is partial is told for the whole window (`unrecordedOverlaps`).
    unrecordedStart: none,
    unrecordedEndUpTo: none,
  }))
}

/** The groups of `dayGroups` for any of `days`, ascending, as one list. */
export function groupsOfDays(
  part: ColumnarPart,
  dicts: Dictionaries,
  days: DayWindow[],
  candidates: Candidates | null,
): Candidates {
  const lists = dayGroups(part, dicts, days, candidates)
  const seen = new Uint8Array(part.groupVisitor.length)
  const list = new GroupList()
  for (const day of lists) for (const g of day.groups) seen[g] = 1
  for (let g = 0; g < seen.length; g++) if (seen[g] === 1) list.push(g)
  const none = new Float64Array(0)
  return { groups: list.shared(), unrecordedStart: none, unrecordedEndUpTo: none }
}

function firstAtOrAfter(sorted: readonly number[], value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

class GroupList {
  private values = new Int32Array(256)
  private length = 0
  push(g: number): void {
    if (this.length === this.values.length) {
      const bigger = new Int32Array(this.values.length * 2)
      bigger.set(this.values)
      this.values = bigger
    }
    this.values[this.length++] = g
  }
  /** In shared memory: handed to the scan workers without a copy. */
  shared(): Int32Array {
    const out = new Int32Array(new SharedArrayBuffer(Math.max(1, this.length) * 4), 0, this.length)
    out.set(this.values.subarray(0, this.length))
    return out
  }
}

/** A part without sessions, for scans of the closed part alone. */
const emptyParts = new WeakMap<ColumnarPart, ColumnarPart>()
function emptyPart(closed: ColumnarPart): ColumnarPart {
  let empty = emptyParts.get(closed)
  if (!empty) {
    empty = emptyOf(closed)
    emptyParts.set(closed, empty)
  }
  return empty
}

function emptyOf(like: ColumnarPart): ColumnarPart {
  const zero = <T extends { constructor: unknown }>(a: T, n = 0): T =>
    new (a.constructor as new (n: number) => T)(n)
  return {
    sessions: 0,
    groupVisitor: new Int32Array(0),
    groupFrom: new Int32Array(1),
    start: new Float64Array(0),
    end: new Float64Array(0),
    pageviews: new Int32Array(0),
    interactions: new Int32Array(0),
    startDay: new Int32Array(0),
    hasEvents: new Uint8Array(0),
    columns: like.columns.map((c) => zero(c)),
    eventFrom: new Int32Array(1),
    at: new Float64Array(0),
    day: new Int32Array(0),
    eventType: new Int32Array(0),
    path: new Int32Array(0),
    propFrom: new Int32Array(1),
    propKey: new Int32Array(0),
    propValue: new Int32Array(0),
  }
}

function sparseOf(t: TallyArrays, day: MsWindow): SparseTally {
  const at: Int32Array[] = []
  const count: Float64Array[] = []
  let bytes = 64
  for (const slot of tallySlots(t)) {
    let n = 0
    for (let i = 0; i < slot.length; i++) if (slot[i] !== 0) n++
    const a = new Int32Array(n)
    const c = new Float64Array(n)
    let k = 0
    for (let i = 0; i < slot.length; i++) {
      if (slot[i] === 0) continue
      a[k] = i
      c[k] = slot[i] as number
      k++
    }
    at.push(a)
    count.push(c)
    bytes += n * 12 + 64
  }
  return { from: day.from, to: day.to, totals: { ...t.totals }, at, count, bytes }
}

/**
 * Adds a day's tally into `into`. A spec without tables (the previous period) has no table
 * or chart arrays (length 0) and counts no events in its totals.
 */
function addSparse(into: TallyArrays, day: SparseTally, tables: boolean): void {
  for (const key of Object.keys(into.totals) as Array<keyof Counters>) {
    if (key === 'events' && !tables) continue
    into.totals[key] += day.totals[key]
  }
  tallySlots(into).forEach((slot, i) => {
    if (slot.length === 0) return
    const at = day.at[i] as Int32Array
    const count = day.count[i] as Float64Array
    for (let k = 0; k < at.length; k++) {
      const v = at[k] as number
      slot[v] = (slot[v] as number) + (count[k] as number)
    }
  })
}
