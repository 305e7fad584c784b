import { localDay, startOfLocalDay } from '../core/calendar.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import { narrowedFrom, unrecordedOverlaps } from './candidate-index.ts'
import { type ColumnarProps, type PropsCounts, propsCounts, propsOf } from './columnar-props.ts'
import type { ColumnarPart, Dictionaries } from './columnar-record.ts'
import { type DayWindow, dayGroups, daysBefore, midnightBefore } from './day-tallies.ts'
import { type KeptDay, KeptDays } from './kept-days.ts'
import { msWindow, readWindow } from './period-window.ts'

/**
 * The unfiltered property breakdown (columnar-props.ts) with its closed days added from
 * per-day counts kept in memory, as day-tallies.ts does for filtered reports and for the same
 * reason: its counts are each at one moment (an event, a visitor-day's first event with the
 * value), so a window of whole days sums its days', and the days before the open tail's first
 * have the closed part's sessions only. The rest is read as before, from the tail's first day,
 * of the groups with a session ending since then. Kept per site's closed part and `props` key.
 */
type PropsDay = PropsCounts & KeptDay

/** Kept days of a site's closed part (kept-days.ts), and the reports that add them up. */
export class DayProps extends KeptDays<PropsDay> {
  /** columnarProps over `[closed, tail]`, its closed days from kept counts. */
  properties(
    siteId: string,
    dicts: Dictionaries,
    closed: ColumnarPart,
    tail: ColumnarPart,
    query: StatsQuery,
  ): ColumnarProps {
    const tz = dicts.timeZone
    const key = query.props === null ? -1 : dicts.propKeys.find(query.props)
    const read = readWindow(query.current, tz)
    const totals = msWindow(query.current.totals, tz)
    const split = midnightBefore(tail, tz)
    const daily =
      query.current.totals.grain === 'day' &&
      read.from === totals.from &&
      read.to === totals.to - 1 &&
      startOfLocalDay(localDay(totals.from, tz), tz) === totals.from
    const days =
      daily && split > totals.from && this.room() > 0 ? daysBefore(totals, split, tz) : []
    if (days.length === 0) {
      this.evict()
      return propsOf(dicts, propsCounts(dicts, [closed, tail], key, read, totals, null))
    }
    const entry = this.entryOf(siteId, closed, query.props ?? '')
    const missing = days.filter((day) => !entry.days.has(day.day))
    if (missing.length > 0) {
      const groups = dayGroups(closed, dicts, missing, null)
      missing.forEach((day, i) => {
        const window = { from: day.from, to: day.to }
        const counts = propsCounts(
          dicts,
          [closed],
          key,
          { from: day.from, to: day.to - 1 },
          window,
          groups[i]?.groups ?? null,
        )
        this.keep(entry, day.day, { ...counts, ...window, bytes: countsBytes(counts) })
      })
    }
    const from = (days[days.length - 1] as DayWindow).to
    const sum =
      from < totals.to
        ? propsCounts(
            dicts,
            [closed, tail],
            key,
            { from, to: read.to },
            { from, to: totals.to },
            narrowedFrom(closed, null, from).groups,
          )
        : {
            keyCount: new Float64Array(dicts.propKeys.size),
            valueEvents: new Float64Array(dicts.propValues.size),
            valueVisitors: new Float64Array(dicts.propValues.size),
            partial: false,
          }
    for (const day of days) {
      const counts = entry.days.get(day.day) as PropsCounts
      add(sum.keyCount, counts.keyCount)
      add(sum.valueEvents, counts.valueEvents)
      add(sum.valueVisitors, counts.valueVisitors)
    }
    if (unrecordedOverlaps(closed, { from: totals.from, to: from - 1 })) sum.partial = true
    this.evict()
    return propsOf(dicts, sum)
  }
}

/** Adds `b` into `a`; `b` may be shorter (its dictionaries were smaller when counted). */
function add(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] as number) + (b[i] as number)
}

function countsBytes(c: PropsCounts): number {
  return c.keyCount.byteLength + c.valueEvents.byteLength + c.valueVisitors.byteLength + 64
}
