import type { HandoverTaken } from '../store.ts'
import { type PackedBatch, type QueuedEntry, unpackBatch } from './packed-item.ts'

/** Held entries of one commit: its text until the roll-up first reads it, then the entries. */
interface Held {
  first: number
  count: number
  text: string | undefined
  entries: QueuedEntry[] | undefined
}

/**
 * The queue entries an accept just committed, handed to the roll-up in memory so it does not
 * read back (and join with their events) what was just written. Each commit is held as its
 * packed text (the queue row's own text, packed-item.ts) until the roll-up first reads it: a
 * string is one flat object to the garbage collector, while the same entries as objects,
 * held for up to a roll-up interval, would be copied by every scavenge and then promoted.
 *
 * The queue table stays the truth. Entries are only used when they continue exactly from the
 * table's head seq (seqs only grow, never reused); anything else (a restart, a message not
 * arrived yet, an overflow) falls back to reading the table, and entries the table path has
 * already rolled up are dropped when the head moves past them.
 */
export class HotQueue {
  private held: Held[] = []

  /**
   * @param capacity entries held at most, about a second of events at the batch benchmark's
   *   rate. Past it, entries are read back from the queue table: a query more per few commits
   *   and the same parse, since queue rows hold the same packed text, so a roll-up that falls
   *   behind costs little more than one that keeps pace.
   */
  constructor(private readonly capacity = 50_000) {}

  get size(): number {
    let size = 0
    for (const held of this.held) size += held.count
    return size
  }

  /** Adds what one accept committed, as objects, in seq order (see `pushChunk`). */
  push(entries: readonly QueuedEntry[]): HandoverTaken {
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
  pushChunk(chunk: PackedBatch): HandoverTaken {
    if (chunk.count <= 0) return 'held'
    return this.add({
      first: chunk.first,
      count: chunk.count,
      text: chunk.text,
      entries: undefined,
    })
  }

  private add(held: Held): HandoverTaken {
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
  take(head: number | null, limit: number): QueuedEntry[] | null {
    if (head === null) {
      this.held = []
      return null
    }
    // Whole commits the table path has rolled up already.
    while (this.held[0] && this.held[0].first + this.held[0].count <= head) this.held.shift()
    const first = this.held[0]
    if (!first || first.first > head) return null
    const taken: QueuedEntry[] = []
    let next = head
    while (taken.length < limit) {
      const held = this.held[0]
      if (!held) break
      const entries = entriesOf(held)
      const from = next - held.first
      const end = Math.min(held.count, from + limit - taken.length)
      for (let i = from; i < end; i++) taken.push(entries[i] as QueuedEntry)
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

function entriesOf(held: Held): QueuedEntry[] {
  if (!held.entries) {
    held.entries = unpackBatch({ first: held.first, count: held.count, text: held.text as string })
    held.text = undefined
  }
  return held.entries
}
