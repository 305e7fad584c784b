import type { LiveEvent } from '../storage/store.ts'
import { HyperLogLog, hashString } from './hyperloglog.ts'
import { MINUTE_MS } from './minute-counts.ts'
import { TopCounts } from './top-counts.ts'

const VISITOR_MINUTES = 5
const SESSION_MINUTES = 30
/** Values kept per list and minute: the lists show 25 (live-window.ts LIST_LIMIT). */
const TOP_VALUES = 100

/** The lists a snapshot shows, for what was refused in one minute. */
interface MinuteLists {
  pages: TopCounts
  sources: TopCounts
  countries: TopCounts
  devices: TopCounts
}

/** What the refused visitors and sessions add to a snapshot. */
export interface OverflowEstimate {
  visitors: number
  sessions: number
  pages: Iterable<[string, number]>
  sources: Iterable<[string, number]>
  countries: Iterable<[string, number]>
  devices: Iterable<[string, number]>
}

/**
 * A site's live state past its share of the budget (live-window.ts), in sketches of fixed
 * size per minute: HyperLogLogs of the refused visitors and sessions (distinct counts within a
 * few percent) and Space-Saving counts of their pages, sources, countries and devices. The
 * lists count the refused part by events rather than by visitors, so a refused visitor with
 * several events weighs more: an estimate, as the snapshot says. Memory is bounded by the
 * minutes kept (35 at most, 4 KB a sketch), whatever the flood.
 */
export class Overflow {
  /** When something was last refused (server clock). */
  lastRefused = 0
  private readonly visitorMinutes = new Map<number, HyperLogLog>()
  private readonly sessionMinutes = new Map<number, HyperLogLog>()
  private readonly lists = new Map<number, MinuteLists>()

  constructor(private readonly aheadMinutes: number) {}

  addVisitor(e: LiveEvent, now: number): void {
    const minute = this.minuteOf(e.timestamp, now, VISITOR_MINUTES)
    if (minute === undefined) return
    sketchOf(this.visitorMinutes, minute).add(hashString(e.visitor_id))
    let lists = this.lists.get(minute)
    if (!lists) {
      lists = {
        pages: new TopCounts(TOP_VALUES),
        sources: new TopCounts(TOP_VALUES),
        countries: new TopCounts(TOP_VALUES),
        devices: new TopCounts(TOP_VALUES),
      }
      this.lists.set(minute, lists)
    }
    lists.pages.add(e.path)
    lists.sources.add(e.source)
    lists.countries.add(e.country)
    lists.devices.add(e.device)
  }

  addSession(e: LiveEvent, now: number): void {
    const minute = this.minuteOf(e.timestamp, now, SESSION_MINUTES)
    if (minute !== undefined) sketchOf(this.sessionMinutes, minute).add(hashString(e.session_id))
  }

  estimate(now: number): OverflowEstimate {
    const current = Math.floor(now / MINUTE_MS)
    const from = (span: number) => current - span + 1
    const lists = {
      pages: new Map<string, number>(),
      sources: new Map<string, number>(),
      countries: new Map<string, number>(),
      devices: new Map<string, number>(),
    }
    for (const [minute, kept] of this.lists) {
      if (minute < from(VISITOR_MINUTES)) continue
      for (const name of ['pages', 'sources', 'countries', 'devices'] as const) {
        for (const [key, n] of kept[name].entries()) {
          lists[name].set(key, (lists[name].get(key) ?? 0) + n)
        }
      }
    }
    return {
      visitors: union(this.visitorMinutes, from(VISITOR_MINUTES)),
      sessions: union(this.sessionMinutes, from(SESSION_MINUTES)),
      ...lists,
    }
  }

  /** Forgets minutes that have left every window. */
  prune(now: number): void {
    const current = Math.floor(now / MINUTE_MS)
    for (const [map, span] of [
      [this.visitorMinutes, VISITOR_MINUTES],
      [this.sessionMinutes, SESSION_MINUTES],
      [this.lists, VISITOR_MINUTES],
    ] as const) {
      for (const minute of map.keys()) if (minute <= current - span) map.delete(minute)
    }
  }

  /** Sketches held, for tests of the bound. */
  get minutes(): number {
    return this.visitorMinutes.size + this.sessionMinutes.size + this.lists.size
  }

  private minuteOf(timestamp: number, now: number, span: number): number | undefined {
    const minute = Math.floor(timestamp / MINUTE_MS)
    const current = Math.floor(now / MINUTE_MS)
    if (minute <= current - span || minute > current + this.aheadMinutes) return undefined
    return minute
  }
}

function sketchOf(minutes: Map<number, HyperLogLog>, minute: number): HyperLogLog {
  let sketch = minutes.get(minute)
  if (!sketch) {
    sketch = new HyperLogLog()
    minutes.set(minute, sketch)
  }
  return sketch
}

/** The distinct count of the sketches from a minute on. */
function union(minutes: Map<number, HyperLogLog>, from: number): number {
  const all = new HyperLogLog()
  let any = false
  for (const [minute, sketch] of minutes) {
    if (minute < from) continue
    all.merge(sketch)
    any = true
  }
  return any ? Math.round(all.estimate()) : 0
}
