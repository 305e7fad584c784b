import type { QueuedEntry } from '../storage/store.ts'

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
  private entries: QueuedEntry[] = []

  /** @param capacity entries held at most; beyond that the table is read instead. */
  constructor(private readonly capacity = 20_000) {}

  get size(): number {
    return this.entries.length
  }

  /** Adds what one accept committed, in seq order. */
  push(entries: readonly QueuedEntry[]): void {
    const first = entries[0]
    if (!first) return
    const last = this.entries.at(-1)
    // A gap means something was not handed over: start again from these entries.
    if (last && first.seq !== last.seq + 1) this.entries = []
    if (this.entries.length + entries.length > this.capacity) {
      this.entries = []
      return
    }
    for (const entry of entries) this.entries.push(entry)
  }

  /**
   * Up to `limit` entries starting exactly at the queue's head seq, removed from memory; null
   * when memory does not hold the head, and the table must be read.
   */
  take(head: number | null, limit: number): QueuedEntry[] | null {
    if (head === null) {
      this.entries = []
      return null
    }
    let start = 0
    while (start < this.entries.length && (this.entries[start] as QueuedEntry).seq < head) start++
    if (start > 0) this.entries.splice(0, start)
    if (this.entries[0]?.seq !== head) return null
    let end = 1
    while (
      end < Math.min(limit, this.entries.length) &&
      (this.entries[end] as QueuedEntry).seq === head + end
    ) {
      end++
    }
    return this.entries.splice(0, end)
  }
}
