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

/**
 * What the roll-up reads of an event, in the order a packed entry holds it. Written out field
 * by field on both sides, not looped over a list of names: a keyed store per field left each
 * unpacked event built by a dozen generic stores, and a loop of keyed reads packed it; the
 * literals cut packing and unpacking to about half (and every event gets the same shape, so
 * the roll-up's reads of it stay monomorphic). `unpackEvent` returns a `RollupEvent` literal,
 * so a field added to the type fails to compile until it is packed; the round-trip test with
 * every field distinct catches two fields swapped.
 */
type PackedEvent = [
  'e',
  site_id: RollupEvent['site_id'],
  timezone: RollupEvent['timezone'],
  client_session_id: RollupEvent['client_session_id'],
  timestamp: RollupEvent['timestamp'],
  event_type: RollupEvent['event_type'],
  path: RollupEvent['path'],
  user_id: RollupEvent['user_id'],
  visitor_id: RollupEvent['visitor_id'],
  source: RollupEvent['source'],
  channel: RollupEvent['channel'],
  utm_source: RollupEvent['utm_source'],
  utm_medium: RollupEvent['utm_medium'],
  utm_campaign: RollupEvent['utm_campaign'],
  browser: RollupEvent['browser'],
  os: RollupEvent['os'],
  device: RollupEvent['device'],
  country: RollupEvent['country'],
]

/** A queue item as a hot chunk holds it: an event's fields, or a bot hit. */
type PackedItem = PackedEvent | ['b', site_id: string, timezone: string, timestamp: number]

function packEvent(e: RollupEvent): PackedEvent {
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

function unpackEvent(p: PackedEvent): RollupEvent {
  return {
    site_id: p[1],
    timezone: p[2],
    client_session_id: p[3],
    timestamp: p[4],
    event_type: p[5],
    path: p[6],
    user_id: p[7],
    visitor_id: p[8],
    source: p[9],
    channel: p[10],
    utm_source: p[11],
    utm_medium: p[12],
    utm_campaign: p[13],
    browser: p[14],
    os: p[15],
    device: p[16],
    country: p[17],
  }
}

function unpack(packed: PackedItem, seq: number): RollupEntry {
  if (packed[0] === 'b') {
    const [, site_id, timezone, timestamp] = packed
    return { seq, item: { kind: 'bot', hit: { site_id, timezone, timestamp } } }
  }
  return { seq, item: { kind: 'event', event: unpackEvent(packed) } }
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

/**
 * What became of a pushed commit: held, or left to the table path because memory is full or
 * an earlier commit was left there (the roll-up has fallen behind).
 */
export type Pushed = 'held' | 'full' | 'gap'

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
  push(entries: readonly RollupEntry[]): Pushed {
    const first = entries[0]
    if (!first) return 'held'
    if (entries.some((entry, i) => entry.seq !== first.seq + i)) return 'gap'
    return this.add({
      first: first.seq,
      count: entries.length,
      text: undefined,
      entries: [...entries],
    })
  }

  /**
   * Adds one commit's packed entries. Entries that do not continue what is held (a handover
   * was missed) or do not fit are left to the table path; what is held stays good for the
   * next slices, and new entries are taken again once memory has drained.
   */
  pushChunk(chunk: HotChunk): Pushed {
    if (chunk.count <= 0) return 'held'
    return this.add({
      first: chunk.first,
      count: chunk.count,
      text: chunk.text,
      entries: undefined,
    })
  }

  private add(held: Held): Pushed {
    const last = this.held.at(-1)
    if (last && held.first !== last.first + last.count) return 'gap'
    if (this.size + held.count > this.capacity) return 'full'
    this.held.push(held)
    return 'held'
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
