import type Database from 'better-sqlite3'
import type { QueuedItem, SetAside } from '../store.ts'
import {
  type PackedBatch,
  type PackedItem,
  packBatch,
  type QueuedEntry,
  unpackItem,
} from './packed-item.ts'

/** One item of `ingest_batch.items`: packed, or null once moved to the dead letters. */
type BatchItem = PackedItem | null

interface BatchRow {
  first_seq: number
  item_count: number
  items: string
}

/**
 * The roll-up's queue in SQLite: one `ingest_batch` row per accept, holding its packed items
 * as a JSON array, so an accept writes one queue row however many events it holds. An
 * item's seq is its batch's first_seq plus its index; `ingest_cursor` holds the next seq (seqs
 * only grow) and how far the roll-up has retired, which may end inside a batch. A batch row
 * goes once every item in it is retired.
 */
export class PendingQueue {
  private readonly s

  constructor(private readonly db: Database.Database) {
    this.s = {
      nextSeq: db.prepare('SELECT next_seq FROM ingest_cursor WHERE id = 1').pluck(),
      setNextSeq: db.prepare('UPDATE ingest_cursor SET next_seq = ? WHERE id = 1'),
      retiredThrough: db.prepare('SELECT retired_through FROM ingest_cursor WHERE id = 1').pluck(),
      setRetired: db.prepare(
        'UPDATE ingest_cursor SET retired_through = max(retired_through, ?) WHERE id = 1',
      ),
      deleteRetired: db.prepare('DELETE FROM ingest_batch WHERE first_seq + item_count - 1 <= ?'),
      append: db.prepare(
        `INSERT INTO ingest_batch (first_seq, item_count, oldest, items, accepted_at)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      // A few batches at a time: no other statement may run while one is iterated.
      batchesFrom: db.prepare(
        `SELECT first_seq, item_count, items FROM ingest_batch
         WHERE first_seq >= ? ORDER BY first_seq LIMIT 4`,
      ),
      itemsWaiting: db.prepare('SELECT sum(item_count - dropped) FROM ingest_batch').pluck(),
      batchOf: db.prepare(
        `SELECT first_seq, item_count, items FROM ingest_batch
         WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1`,
      ),
      rewrite: db.prepare(
        'UPDATE ingest_batch SET items = ?, dropped = dropped + 1 WHERE first_seq = ?',
      ),
      deleteBatch: db.prepare('DELETE FROM ingest_batch WHERE first_seq = ?'),
      oldest: db.prepare('SELECT min(oldest) FROM ingest_batch').pluck(),
      // Fully retired batches are deleted, so the first one left holds the oldest waiting item
      // unless dead letters emptied its tail (then `dropped` says to look closer).
      firstBatch: db.prepare(
        'SELECT dropped, accepted_at FROM ingest_batch ORDER BY first_seq LIMIT 1',
      ),
      acceptedAtOf: db
        .prepare(
          `SELECT accepted_at FROM ingest_batch
           WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1`,
        )
        .pluck(),
      // An item is kept as keyed JSON (below): an event's time, or a bot hit's.
      setAside: db.prepare(
        `SELECT count(*) AS items, min(coalesce(json_extract(payload, '$.event.timestamp'),
           json_extract(payload, '$.hit.timestamp'), failed_at)) AS since
         FROM ingest_dead_letter`,
      ),
      toDeadLetter: db.prepare(
        `INSERT OR REPLACE INTO ingest_dead_letter (seq, payload, reason, failed_at)
         VALUES (?, ?, ?, ?)`,
      ),
    }
  }

  /**
   * Queues the items as one batch, accepted at `acceptedAt` (epoch ms); call inside the
   * accept's write transaction (it reads and moves the seq counter).
   */
  append(
    items: readonly QueuedItem[],
    acceptedAt: number,
  ): { queued: QueuedEntry[]; packed?: PackedBatch } {
    if (items.length === 0) return { queued: [] }
    const first = this.s.nextSeq.get() as number
    let oldest: number | null = null
    for (const item of items) {
      if (item.kind === 'event' && (oldest === null || item.event.timestamp < oldest)) {
        oldest = item.event.timestamp
      }
    }
    const queued = items.map((item, i) => ({ seq: first + i, item }))
    // Not empty (checked above), so packed.
    const packed = packBatch(queued) as PackedBatch
    this.s.append.run(first, items.length, oldest, packed.text, acceptedAt)
    this.s.setNextSeq.run(first + items.length)
    return { queued, packed }
  }

  /** The oldest `limit` items not retired, in seq order. */
  read(limit: number): QueuedEntry[] {
    const entries: QueuedEntry[] = []
    if (limit <= 0) return entries
    for (const [seq, item] of this.waiting()) {
      entries.push({ seq, item: unpackItem(item) })
      if (entries.length >= limit) break
    }
    return entries
  }

  /** The seq every item up to which is retired (0 before the first). */
  retiredThrough(): number {
    return this.s.retiredThrough.get() as number
  }

  /** The seq of the oldest item not retired; null when nothing waits. */
  head(): number | null {
    for (const [seq] of this.waiting()) return seq
    return null
  }

  length(): number {
    const retired = this.s.retiredThrough.get() as number
    let count = (this.s.itemsWaiting.get() as number | null) ?? 0
    // Less what is retired of a batch the roll-up is part way through.
    const partial = this.s.batchOf.get(retired) as BatchRow | undefined
    if (partial && retired < partial.first_seq + partial.item_count - 1) {
      const items = JSON.parse(partial.items) as BatchItem[]
      count -= items.slice(0, retired - partial.first_seq + 1).filter((i) => i !== null).length
    }
    return count
  }

  /**
   * When the batch of the oldest waiting item was accepted (epoch ms); null when nothing
   * waits. Batches are accepted in seq order, so that is the earliest accept time of any.
   */
  oldestAcceptedAt(): number | null {
    // Never null: migration 101 gave the rows of earlier builds the time of the upgrade.
    const first = this.s.firstBatch.get() as { dropped: number; accepted_at: number } | undefined
    if (!first) return null
    // Without dead letters every item of it after the retired ones waits, and one does.
    if (first.dropped === 0) return first.accepted_at
    // Dead letters may have taken all it had left: find the first item that really waits.
    const seq = this.head()
    return seq === null ? null : (this.s.acceptedAtOf.get(seq) as number)
  }

  /** The earliest event time any waiting batch holds (the sweep spares events from there). */
  oldestEvent(): number | null {
    return this.s.oldest.get() as number | null
  }

  /** Retires every item up to `seq`; call inside the roll-up's write transaction. */
  retire(seq: number): void {
    this.s.setRetired.run(seq)
    this.s.deleteRetired.run(seq)
  }

  /**
   * Takes one waiting item out of its batch (it becomes null there) and returns it, or
   * undefined when no such item waits; call inside a write transaction.
   */
  remove(seq: number): QueuedItem | undefined {
    if (seq <= (this.s.retiredThrough.get() as number)) return undefined
    const batch = this.s.batchOf.get(seq) as BatchRow | undefined
    if (!batch || seq >= batch.first_seq + batch.item_count) return undefined
    const items = JSON.parse(batch.items) as BatchItem[]
    const item = items[seq - batch.first_seq]
    if (!item) return undefined
    items[seq - batch.first_seq] = null
    if (items.every((left) => left === null)) this.s.deleteBatch.run(batch.first_seq)
    else this.s.rewrite.run(JSON.stringify(items), batch.first_seq)
    return unpackItem(item)
  }

  /** Moves one waiting item to the dead letters (Store.deadLetter); nothing if none waits. */
  deadLetter(seq: number, reason: string, at: number): void {
    this.db
      .transaction(() => {
        const removed = this.remove(seq)
        if (!removed) return
        // The item as keyed JSON, readable on its own.
        this.s.toDeadLetter.run(seq, JSON.stringify(removed), reason, at)
      })
      .immediate()
  }

  /** What the dead letters hold (Store.setAside); null when they are empty. */
  setAside(): SetAside | null {
    const row = this.s.setAside.get() as { items: number; since: number | null }
    return row.items > 0 && row.since !== null ? { items: row.items, since: row.since } : null
  }

  /** Waiting items in seq order, batch by batch (each parsed only when reached). */
  private *waiting(): Generator<[number, PackedItem]> {
    const retired = this.s.retiredThrough.get() as number
    // From the batch holding the first seq after the retired ones (it may start before it).
    let from = (this.s.batchOf.get(retired + 1) as BatchRow | undefined)?.first_seq ?? retired + 1
    for (;;) {
      const page = this.s.batchesFrom.all(from) as BatchRow[]
      for (const batch of page) {
        const items = JSON.parse(batch.items) as BatchItem[]
        for (const [i, item] of items.entries()) {
          const seq = batch.first_seq + i
          if (item && seq > retired) yield [seq, item]
        }
        from = batch.first_seq + 1
      }
      if (page.length === 0) return
    }
  }
}
