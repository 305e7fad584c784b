import type { SessionState } from '../core/types.ts'
import { forEachSessionValue } from './session-values.ts'

/**
 * Where each visitor is first seen on each day, overall and under each table value: a visitor
 * counts once per site-local day, and once per day under each value, at the first moment
 * seen there (filtered-report.ts says why that moment).
 *
 * Visitor-days are numbered as they come, and marks are kept in flat arrays, then grouped by
 * visitor-day once at the end: a report over millions of events would otherwise keep one hash
 * entry per visitor-day and value (the report's largest cost by far).
 */
export class VisitorDays {
  private readonly ids = new Map<string, number>()
  /** Per visitor-day: the moment first seen. */
  private readonly first: number[] = []
  // A mark per session-day, under all the session's values at once.
  private readonly sessionDay: number[] = []
  private readonly sessionOf: SessionState[] = []
  private readonly sessionAt: number[] = []
  // A mark per event: its page, event name or property value.
  private readonly eventDay: number[] = []
  private readonly eventDim: string[] = []
  private readonly eventValue: string[] = []
  private readonly eventAt: number[] = []

  /** The number of a visitor's day, marking the visitor seen then. */
  seen(visitorId: string, day: string, at: number): number {
    const key = `${visitorId}\u001f${day}`
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.first.length
      this.ids.set(key, id)
      this.first.push(at)
    } else if (at < (this.first[id] as number)) {
      this.first[id] = at
    }
    return id
  }

  /** Seen at `at` in a session, under all its values (the session's first moment that day). */
  seenIn(id: number, session: SessionState, at: number): void {
    this.sessionDay.push(id)
    this.sessionOf.push(session)
    this.sessionAt.push(at)
  }

  /** Seen at `at` under one value (a page view's page, an event's name). */
  seenUnder(id: number, dim: string, value: string, at: number): void {
    this.eventDay.push(id)
    this.eventDim.push(dim)
    this.eventValue.push(value)
    this.eventAt.push(at)
  }

  /** The moment each visitor-day was first seen. */
  firstMoments(): readonly number[] {
    return this.first
  }

  /** Calls `count` once per visitor-day and value, with the moment first seen there. */
  eachFirst(count: (dim: string, value: string, at: number) => void): void {
    const sessions = groupByDay(this.sessionDay, this.first.length)
    forEachGroup(sessions, (indexes) => {
      if (indexes.length === 1) {
        const i = indexes[0] as number
        const at = this.sessionAt[i] as number
        forEachSessionValue(this.sessionOf[i] as SessionState, (dim, value) =>
          count(dim, value, at),
        )
        return
      }
      const earliest = new Map<string, { dim: string; value: string; at: number }>()
      for (const i of indexes) {
        const at = this.sessionAt[i] as number
        forEachSessionValue(this.sessionOf[i] as SessionState, (dim, value) =>
          earliest1(earliest, dim, value, at),
        )
      }
      for (const e of earliest.values()) count(e.dim, e.value, e.at)
    })
    const events = groupByDay(this.eventDay, this.first.length)
    forEachGroup(events, (indexes) => {
      if (indexes.length <= SMALL_GROUP) {
        this.eachFirstEvent(indexes, count)
        return
      }
      const earliest = new Map<string, { dim: string; value: string; at: number }>()
      for (const i of indexes) {
        earliest1(
          earliest,
          this.eventDim[i] as string,
          this.eventValue[i] as string,
          this.eventAt[i] as number,
        )
      }
      for (const e of earliest.values()) count(e.dim, e.value, e.at)
    })
  }

  private eachFirstEvent(
    indexes: Int32Array,
    count: (dim: string, value: string, at: number) => void,
  ): void {
    for (let a = 0; a < indexes.length; a++) {
      const i = indexes[a] as number
      const dim = this.eventDim[i] as string
      const value = this.eventValue[i] as string
      let at = this.eventAt[i] as number
      let repeat = false
      for (let b = 0; b < indexes.length && !repeat; b++) {
        const j = indexes[b] as number
        if (b === a || this.eventDim[j] !== dim || this.eventValue[j] !== value) continue
        // Counted once, by the first of its marks in the group.
        if (b < a) repeat = true
        else at = Math.min(at, this.eventAt[j] as number)
      }
      if (!repeat) count(dim, value, at)
    }
  }
}

/** Up to this many marks a visitor-day's are compared pairwise, without a map. */
const SMALL_GROUP = 16

function earliest1(
  into: Map<string, { dim: string; value: string; at: number }>,
  dim: string,
  value: string,
  at: number,
): void {
  const key = `${dim}\u001f${value}`
  const before = into.get(key)
  if (!before) into.set(key, { dim, value, at })
  else if (at < before.at) before.at = at
}

interface Groups {
  /** Mark indexes ordered by visitor-day. */
  order: Int32Array
  /** Where each visitor-day's marks begin in `order` (one more entry than days). */
  starts: Int32Array
}

/** A counting sort of marks by visitor-day number. */
function groupByDay(days: readonly number[], dayCount: number): Groups {
  const starts = new Int32Array(dayCount + 1)
  for (const d of days) starts[d + 1] = (starts[d + 1] as number) + 1
  for (let d = 0; d < dayCount; d++)
    starts[d + 1] = (starts[d + 1] as number) + (starts[d] as number)
  const next = starts.slice(0, dayCount)
  const order = new Int32Array(days.length)
  days.forEach((d, i) => {
    order[next[d] as number] = i
    next[d] = (next[d] as number) + 1
  })
  return { order, starts }
}

function forEachGroup(groups: Groups, each: (indexes: Int32Array) => void): void {
  const { order, starts } = groups
  for (let d = 0; d + 1 < starts.length; d++) {
    const from = starts[d] as number
    const to = starts[d + 1] as number
    if (to > from) each(order.subarray(from, to))
  }
}
