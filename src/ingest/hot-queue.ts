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

  /**
   * @param capacity entries held at most. It must absorb what arrives during one slow roll-up
   *   run: once entries are left to the table path, the roll-up reads and parses them back,
   *   which costs it far more CPU and memory than taking them from here (a 10k limit made it
   *   fall behind under the batch benchmark, 50k did not).
   */
  constructor(private readonly capacity = 50_000) {}

  get size(): number {
    return this.entries.length
  }

  /**
   * Adds what one accept committed, in seq order. Entries that do not continue what is held
   * (a handover was missed) or do not fit are left to the table path; what is held stays good
   * for the next slices, and new entries are taken again once memory has drained.
   */
  push(entries: readonly QueuedEntry[]): void {
    const first = entries[0]
    if (!first) return
    const last = this.entries.at(-1)
    if (last && first.seq !== last.seq + 1) return
    if (this.entries.length + entries.length > this.capacity) return
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
