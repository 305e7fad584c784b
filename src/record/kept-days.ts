import type { ColumnarPart } from './columnar-record.ts'
import type { MsWindow } from './period-window.ts'

/**
 * Per-day results kept for a site's closed part (day-tallies.ts, day-props.ts): by the
 * question's key (its filters, its `props` key) and local day, counted in bytes, least
 * recently used keys out past `room`. When the closed part is extended, the days whose
 * sessions did not change are carried over to the new part; a query still holding the part it
 * replaced gets an entry of its own that is not kept.
 */
export interface KeptDay extends MsWindow {
  bytes: number
}

export interface DaysEntry<T extends KeptDay> {
  days: Map<string, T>
  bytes: number
  used: number
  /** Missing days being built (day-tallies.ts): one build at a time, which its queries wait for. */
  building: Promise<void> | null
  /** Not kept (let go while built, or for a replaced part): its days count nowhere. */
  stale: boolean
}

interface SiteDays<T extends KeptDay> {
  part: ColumnarPart
  entries: Map<string, DaysEntry<T>>
}

export class KeptDays<T extends KeptDay> {
  private readonly sites = new Map<string, SiteDays<T>>()
  private total = 0
  private clock = 0

  /** `room`: what the kept days may hold now. */
  constructor(readonly room: () => number) {}

  bytes(): number {
    return this.total
  }

  bytesOf(siteId: string): number {
    let total = 0
    for (const entry of this.sites.get(siteId)?.entries.values() ?? []) {
      if (!entry.stale) total += entry.bytes
    }
    return total
  }

  /** The site's closed part is gone: its days with it. */
  forget(siteId: string): void {
    const site = this.sites.get(siteId)
    if (!site) return
    for (const entry of site.entries.values()) this.drop(entry)
    this.sites.delete(siteId)
  }

  /**
   * The site's closed part was replaced by `next` (extended): the days within `same`, whose
   * sessions are the same in both (the caller knows which sessions came and went), stay.
   */
  carry(siteId: string, next: ColumnarPart, same: MsWindow): void {
    const site = this.sites.get(siteId)
    if (!site) return
    site.part = next
    for (const [key, entry] of site.entries) {
      if (entry.building) {
        // Being computed for the old part: what it finds is for that part alone.
        site.entries.delete(key)
        this.drop(entry)
        continue
      }
      for (const [day, kept] of entry.days) {
        if (kept.from >= same.from && kept.to <= same.to) continue
        entry.days.delete(day)
        entry.bytes -= kept.bytes
        this.total -= kept.bytes
      }
    }
  }

  /** The entry of `key` for the site's part `part`, marked used. */
  entryOf(siteId: string, part: ColumnarPart, key: string): DaysEntry<T> {
    let site = this.sites.get(siteId)
    if (site && site.part !== part) {
      return { days: new Map(), bytes: 0, used: 0, building: null, stale: true }
    }
    if (!site) {
      site = { part, entries: new Map() }
      this.sites.set(siteId, site)
    }
    let entry = site.entries.get(key)
    if (!entry) {
      entry = { days: new Map(), bytes: 0, used: 0, building: null, stale: false }
      site.entries.set(key, entry)
    }
    entry.used = ++this.clock
    return entry
  }

  keep(entry: DaysEntry<T>, day: string, value: T): void {
    // Two queries may scan the same missing day (day-tallies.ts): the second replaces it.
    const before = entry.days.get(day)
    if (before) {
      entry.bytes -= before.bytes
      if (!entry.stale) this.total -= before.bytes
    }
    entry.days.set(day, value)
    entry.bytes += value.bytes
    if (!entry.stale) this.total += value.bytes
  }

  /** Least recently used entries out until the rest fit (one being computed stays). */
  evict(): void {
    const room = this.room()
    while (this.total > room) {
      let oldest: { site: SiteDays<T>; key: string; entry: DaysEntry<T> } | null = null
      for (const site of this.sites.values()) {
        for (const [key, entry] of site.entries) {
          if (entry.building) continue
          if (!oldest || entry.used < oldest.entry.used) oldest = { site, key, entry }
        }
      }
      if (!oldest) return
      oldest.site.entries.delete(oldest.key)
      this.drop(oldest.entry)
    }
  }

  private drop(entry: DaysEntry<T>): void {
    if (!entry.stale) this.total -= entry.bytes
    entry.stale = true
  }
}
