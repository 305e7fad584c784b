import { type ColumnarPart, Dictionaries, partBytes } from '../../record/columnar-record.ts'

/**
 * Packed days decoded into columns (columnar-record.ts), kept in the process's memory (a
 * Lambda container's, for its later invocations) so a filtered page reads and decodes a packed
 * day once, not once per query. README.md, "Packed days", says why it is never stale:
 *
 * - a packed day changes only when it is written again (a user's deletion, a move), and each
 *   such write grows the site's pack generation (record-packs.ts, PACK_GENERATION) after it;
 *   a site's days are kept under the generation they were read at, and dropped, with their
 *   dictionaries, when a query reads another one;
 * - days are decoded per time zone (a part's local days are its zone's): a site asked in two
 *   zones keeps two sets;
 * - slices of unpacked sessions (`UNPACKED` keys) are kept beside them under the site's
 *   late-write count (late-writes.ts), and dropped alone when it moves.
 *
 * Bounded by `maxBytes` over all sites: the least recently used days go first, and a site's
 * dictionaries (shared by its days, append-only) go with its last day, or when they outgrow
 * what its days hold (visitors of days long evicted), so they do not grow with uptime.
 */
export class PackedDayCache {
  /** By `site zone`: most recently used last. */
  private readonly sites = new Map<string, SiteDays>()
  /** Every day held, by `site zone day`: most recently used last. */
  private readonly lru = new Map<string, { site: SiteDays; day: string }>()
  private total = 0

  constructor(readonly maxBytes: number) {}

  /**
   * The site's days in `timeZone` at `generation`: those held if they were read at it, else
   * none (and fresh dictionaries). Of its unpacked slices (`UNPACKED` keys), those held at
   * `lateGeneration` (late-writes.ts).
   */
  site(siteId: string, timeZone: string, generation: number, lateGeneration = 0): SiteDays {
    const key = `${siteId} ${timeZone}`
    const held = this.sites.get(key)
    if (held && held.generation === generation && !held.outgrown()) {
      this.sites.delete(key)
      this.sites.set(key, held)
      if (held.lateGeneration !== lateGeneration) {
        for (const day of [...held.days.keys()]) {
          if (day.startsWith(UNPACKED)) {
            this.lru.delete(`${key} ${day}`)
            this.total -= held.forget(day)
          }
        }
        held.lateGeneration = lateGeneration
      }
      return held
    }
    if (held) this.drop(key, held)
    const fresh = new SiteDays(this, key, generation, new Dictionaries(timeZone))
    fresh.lateGeneration = lateGeneration
    if (this.maxBytes > 0) this.sites.set(key, fresh)
    else fresh.detached = true
    return fresh
  }

  /** Bytes held, all sites together (days' columns and dictionaries). */
  bytes(): number {
    let dicts = 0
    for (const site of this.sites.values()) dicts += site.dictBytes
    return this.total + dicts
  }

  /** What is held, per site and zone: days and bytes (for tests and the benchmark). */
  held(): Array<{ site: string; days: string[]; bytes: number }> {
    return [...this.sites].map(([site, days]) => ({
      site,
      days: [...days.days.keys()].sort(),
      bytes: days.bytes + days.dictBytes,
    }))
  }

  /** @internal SiteDays' own bookkeeping. */
  touched(site: SiteDays, day: string): void {
    const key = `${site.key} ${day}`
    this.lru.delete(key)
    this.lru.set(key, { site, day })
  }

  /** @internal Bytes added to `site` (its `day`, or its dictionaries): evicts past the cap. */
  added(site: SiteDays, day: string | null, bytes: number): void {
    this.total += bytes
    if (day !== null) this.touched(site, day)
    this.evict()
    if (site.days.size === 0) this.drop(site.key, site)
  }

  private evict(): void {
    for (const [key, { site, day }] of this.lru) {
      if (this.bytes() <= this.maxBytes) return
      this.lru.delete(key)
      this.total -= site.forget(day)
      if (site.days.size === 0) this.drop(site.key, site)
    }
  }

  private drop(key: string, site: SiteDays): void {
    for (const day of [...site.days.keys()]) {
      this.lru.delete(`${key} ${day}`)
      this.total -= site.forget(day)
    }
    site.detached = true
    if (this.sites.get(key) === site) this.sites.delete(key)
  }
}

/** Keys of unpacked sessions kept (a slice of SiteStartIndex), beside packed days' keys. */
export const UNPACKED = 'unpacked '

/** One site's decoded days in one time zone, at one pack generation. */
export class SiteDays {
  /** The late-write count its unpacked slices were read at. */
  lateGeneration = 0
  readonly days = new Map<string, { part: ColumnarPart; bytes: number }>()
  bytes = 0
  dictBytes = 0
  /** Dropped from the cache: what a query still under way adds is not kept. */
  detached = false

  constructor(
    private readonly cache: PackedDayCache,
    readonly key: string,
    readonly generation: number,
    readonly dicts: Dictionaries,
  ) {}

  get(day: string): ColumnarPart | undefined {
    const held = this.days.get(day)
    if (held && !this.detached) this.cache.touched(this, day)
    return held?.part
  }

  put(day: string, part: ColumnarPart): void {
    if (this.detached) return
    const bytes = heldBytes(part, this.dicts)
    const freed = this.forget(day)
    this.days.set(day, { part, bytes })
    this.bytes += bytes
    this.dictBytes = this.dicts.bytes()
    this.cache.added(this, day, bytes - freed)
  }

  /** After a query added values to the dictionaries (its unpacked sessions'): counts them. */
  grew(): void {
    if (this.detached) return
    this.dictBytes = this.dicts.bytes()
    this.cache.added(this, null, 0)
  }

  /** @internal The day let go; its bytes. */
  forget(day: string): number {
    const held = this.days.get(day)
    if (!held) return 0
    this.days.delete(day)
    this.bytes -= held.bytes
    return held.bytes
  }

  /** Dictionaries grown past twice what the days held use (visitors of evicted days). */
  outgrown(): boolean {
    return this.dictBytes > 2 * this.bytes + DICTIONARY_SLACK_BYTES
  }
}

/** Dictionaries a site may hold beyond its days' share before they are started again. */
const DICTIONARY_SLACK_BYTES = 8 * 1024 * 1024

/**
 * A day's columns, and the table columnarReport keeps per part (a visitor's group, 4 bytes
 * per visitor number up to the highest in the part).
 */
function heldBytes(part: ColumnarPart, dicts: Dictionaries): number {
  return partBytes(part) + 4 * Math.min(dicts.visitors.size, maxOf(part.groupVisitor) + 1)
}

function maxOf(values: Int32Array): number {
  let max = -1
  for (const v of values) if (v > max) max = v
  return max
}
