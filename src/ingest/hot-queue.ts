import type { BotHit, RollupEvent } from '../core/types.ts'

/** A queue entry as the roll-up needs it: its event cut to what the roll-up reads. */
export interface RollupEntry {
  seq: number
  item: { kind: 'event'; event: RollupEvent } | { kind: 'bot'; hit: BotHit }
}

/**
 * One accept commit's entries as posted to the roll-up thread: consecutive seqs from `first`,
 * as JSON text of positional arrays (`PackedItem`). A string is one flat object to the garbage
 * collector; the same entries as objects, held for up to a roll-up interval, were copied by
 * every scavenge and then promoted (the roll-up thread spent about a tenth of a core in
 * scavenges under the batch benchmark). Arrays instead of keyed objects halve the text, and
 * with it the time to write and parse it.
 */
export interface HotChunk {
  first: number
  count: number
  text: string
}

/** A queue item as a hot chunk holds it: the fields in the order of `packEvent`. */
type PackedItem =
  | ['e', ...(string | number | null)[]]
  | ['b', site_id: string, timezone: string, timestamp: number]

function packEvent(e: RollupEvent): PackedItem {
  return [
    'e',
    e.site_id,
    e.timezone,
    e.client_session_id,
    e.timestamp,
    e.event_type,
    e.path,
    e.user_id,
    e.visitor_id,
    e.source,
    e.channel,
    e.utm_source,
    e.utm_medium,
    e.utm_campaign,
    e.browser,
    e.os,
    e.device,
    e.country,
  ]
}

function unpack(packed: PackedItem, seq: number): RollupEntry {
  if (packed[0] === 'b') {
    const [, site_id, timezone, timestamp] = packed
    return { seq, item: { kind: 'bot', hit: { site_id, timezone, timestamp } } }
  }
  const p = packed as unknown as string[]
  const event: RollupEvent = {
    site_id: p[1] as string,
    timezone: p[2] as string,
    client_session_id: p[3] as string,
    timestamp: packed[4] as number,
    event_type: p[5] as string,
    path: p[6] as string,
    user_id: packed[7] as string | null,
    visitor_id: p[8] as string,
    source: p[9] as string,
    channel: p[10] as string,
    utm_source: p[11] as string,
    utm_medium: p[12] as string,
    utm_campaign: p[13] as string,
    browser: p[14] as string,
    os: p[15] as string,
    device: p[16] as string,
    country: p[17] as string,
  }
  return { seq, item: { kind: 'event', event } }
}

/** Packs one commit's entries (consecutive seqs, as `store.accept` returns them). */
export function hotChunkOf(
  entries: readonly { seq: number; item: RollupEntry['item'] }[],
): HotChunk | undefined {
  const first = entries[0]
  if (!first) return undefined
  const packed = entries.map(({ item }): PackedItem => {
    if (item.kind === 'event') return packEvent(item.event)
    return ['b', item.hit.site_id, item.hit.timezone, item.hit.timestamp]
  })
  return { first: first.seq, count: entries.length, text: JSON.stringify(packed) }
}

/** Held entries of one commit: its text until the roll-up first reads it, then the entries. */
interface Held {
  first: number
  count: number
  text: string | undefined
  entries: RollupEntry[] | undefined
}

/**
 * The queue entries an accept just committed, handed to the roll-up in memory so it does not
 * read back (and parse) what was just written: reading the queue joined with its events cost
 * the roll-up about a quarter of its time.
 *
 * The queue table stays the truth. Entries are only used when they continue exactly from the
 * table's head seq (seqs only grow, never reused); anything else (a restart, a message not
 * arrived yet, an overflow) falls back to reading the table, and entries the table path has
 * already rolled up are dropped when the head moves past them.
 */
export class HotQueue {
  private held: Held[] = []

  /**
   * @param capacity entries held at most. It must absorb what arrives during one slow roll-up
   *   run: once entries are left to the table path, the roll-up reads and parses them back,
   *   which costs it far more CPU and memory than taking them from here (a 10k limit made it
   *   fall behind under the batch benchmark, 50k did not).
   */
  constructor(private readonly capacity = 50_000) {}

  get size(): number {
    let size = 0
    for (const held of this.held) size += held.count
    return size
  }

  /** Adds what one accept committed, in seq order (see `pushChunk`). */
  push(entries: readonly RollupEntry[]): void {
    const first = entries[0]
    if (!first) return
    if (entries.some((entry, i) => entry.seq !== first.seq + i)) return
    this.add({ first: first.seq, count: entries.length, text: undefined, entries: [...entries] })
  }

  /**
   * Adds one commit's packed entries. Entries that do not continue what is held (a handover
   * was missed) or do not fit are left to the table path; what is held stays good for the
   * next slices, and new entries are taken again once memory has drained.
   */
  pushChunk(chunk: HotChunk): void {
    if (chunk.count <= 0) return
    this.add({ first: chunk.first, count: chunk.count, text: chunk.text, entries: undefined })
  }

  private add(held: Held): void {
    const last = this.held.at(-1)
    if (last && held.first !== last.first + last.count) return
    if (this.size + held.count > this.capacity) return
    this.held.push(held)
  }

  /**
   * Up to `limit` entries starting exactly at the queue's head seq, removed from memory; null
   * when memory does not hold the head, and the table must be read.
   */
  take(head: number | null, limit: number): RollupEntry[] | null {
    if (head === null) {
      this.held = []
      return null
    }
    // Whole commits the table path has rolled up already.
    while (this.held[0] && this.held[0].first + this.held[0].count <= head) this.held.shift()
    const first = this.held[0]
    if (!first || first.first > head) return null
    const taken: RollupEntry[] = []
    let next = head
    while (taken.length < limit) {
      const held = this.held[0]
      if (!held) break
      const entries = entriesOf(held)
      const from = next - held.first
      const end = Math.min(held.count, from + limit - taken.length)
      for (let i = from; i < end; i++) taken.push(entries[i] as RollupEntry)
      next = held.first + end
      if (end === held.count) {
        this.held.shift()
      } else {
        held.entries = entries.slice(end)
        held.first = next
        held.count -= end
      }
    }
    return taken
  }
}

function entriesOf(held: Held): RollupEntry[] {
  if (!held.entries) {
    const packed = JSON.parse(held.text as string) as PackedItem[]
    held.entries = packed.map((item, i) => unpack(item, held.first + i))
    held.text = undefined
  }
  return held.entries
}
