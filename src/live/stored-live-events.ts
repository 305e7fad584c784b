import type { LiveEvent, RecentEvents } from '../storage/store.ts'

/** Events read per site at most: past it a flooded site's snapshot is a marked estimate. */
export const STORED_READ_LIMIT = 50_000
/**
 * How far back each incremental read reaches before the previous read: an event stored after
 * that read with a time up to this much older (a tracker's retry, a beacon, a client clock a
 * little behind) is still found.
 */
export const OVERLAP_MS = 60_000
/** How often a site's whole half hour is read again, for events later than the overlap. */
export const FULL_READ_EVERY_MS = 5 * 60_000
/** Sites remembered at once in this process: each holds up to STORED_READ_LIMIT events. */
const SITES_KEPT = 16

interface KeptEvents {
  /** The site's events since the window's start at the last read, oldest first. */
  events: LiveEvent[]
  /** Whether the last whole read held every event of the window (under the limit). */
  whole: boolean
  readAt: number
  fullReadAt: number
}

/**
 * A site's live events read from the store, for a host whose instances each see only part of
 * the traffic (Lambda containers). Reading the whole half hour at every 3 s poll read a busy
 * site's 50,000 events every time; this process keeps what it read and asks the store only
 * for the events since its last read (with an overlap), and reads the whole window again
 * every few minutes, or whenever the last read could not be whole. What a poll shows is the
 * store's range read for everything newer than the previous read less OVERLAP_MS, so a new
 * visit appears at the first poll after it is stored.
 */
export class StoredLiveEvents {
  private readonly kept = new Map<string, KeptEvents>()

  constructor(private readonly store: RecentEvents) {}

  async since(
    siteId: string,
    from: number,
    now: number,
  ): Promise<{ events: LiveEvent[]; whole: boolean }> {
    const kept = this.kept.get(siteId)
    if (!kept || !kept.whole || now - kept.fullReadAt >= FULL_READ_EVERY_MS || now < kept.readAt) {
      const events = await this.store.liveEventsSince(siteId, from, STORED_READ_LIMIT)
      const whole = events.length < STORED_READ_LIMIT
      this.keep(siteId, { events, whole, readAt: now, fullReadAt: now })
      return { events, whole }
    }
    const overlapFrom = Math.max(from, kept.readAt - OVERLAP_MS)
    const fresh = await this.store.liveEventsSince(siteId, overlapFrom, STORED_READ_LIMIT)
    if (fresh.length >= STORED_READ_LIMIT) {
      // More in the overlap than the limit: the whole window is read next time.
      this.keep(siteId, { events: fresh, whole: false, readAt: now, fullReadAt: now })
      return { events: fresh, whole: false }
    }
    // Everything from overlapFrom on comes from this read; what was kept before it stays.
    const older = kept.events.filter((e) => e.timestamp >= from && e.timestamp < overlapFrom)
    const events = older.concat(fresh)
    const whole = events.length < STORED_READ_LIMIT
    const trimmed = whole ? events : events.slice(events.length - STORED_READ_LIMIT)
    this.keep(siteId, { events: trimmed, whole, readAt: now, fullReadAt: kept.fullReadAt })
    return { events: trimmed, whole }
  }

  private keep(siteId: string, events: KeptEvents): void {
    this.kept.delete(siteId)
    if (this.kept.size >= SITES_KEPT) {
      // The site read longest ago goes (a Map iterates in insertion order).
      const first = this.kept.keys().next().value
      if (first !== undefined) this.kept.delete(first)
    }
    this.kept.set(siteId, events)
  }
}
