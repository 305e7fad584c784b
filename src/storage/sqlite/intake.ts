// The accept stage's writes (Intake): short transactions of their own, outside the roll-up's write ordering.
import { randomBytes } from 'node:crypto'
import type Database from 'better-sqlite3'
import type { BotHit, EnrichedEvent } from '../../core/types.ts'
import type { Accepted, Handover, Intake, QueuedItem } from '../store.ts'
import { unavailableAs } from './connection.ts'
import { eventRowValues, INSERT_EVENT_SQL } from './event-row.ts'
import type { PendingQueue } from './pending-queue.ts'

/** Accepts into the store's queue (pending-queue.ts), and the daily salts. */
export class SqliteIntake implements Intake {
  private readonly s

  constructor(
    private readonly db: Database.Database,
    private readonly pendingQueue: PendingQueue,
    /** The clock an accept records its time by (SqliteStoreOptions.now). */
    private readonly now: () => number,
  ) {
    this.s = {
      insertSalt: db.prepare('INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)'),
      saltOf: db.prepare('SELECT salt FROM salts WHERE day = ?').pluck(),
      sweepSalts: db.prepare('DELETE FROM salts WHERE day < ?'),
      insertEvent: db.prepare(INSERT_EVENT_SQL),
    }
  }

  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const s = this.s
    // Small and append-only: the events key starts with the time, and the whole accept is one
    // queue row. Immediate: the queue's seq counter is read, then moved, under the write lock.
    return unavailableAs(() =>
      this.db
        .transaction(() => {
          const items: QueuedItem[] = []
          const fresh = events.map((event) => {
            if (s.insertEvent.run(...eventRowValues(event)).changes !== 1) return false
            items.push({ kind: 'event', event })
            return true
          })
          for (const hit of bots) items.push({ kind: 'bot', hit })
          // Read under the write lock, so accept times rise with the queue's seqs.
          const { packed } = this.pendingQueue.append(items, this.now())
          // The queue row's own text is the hand-over (packed-item.ts): written once.
          return packed ? { fresh, handover: packed as unknown as Handover } : { fresh }
        })
        .immediate(),
    )
  }

  async dailySalt(day: string): Promise<string> {
    return unavailableAs(() => {
      this.s.insertSalt.run(day, randomBytes(32).toString('base64url'))
      return this.s.saltOf.get(day) as string
    })
  }

  /** Deletes the salts of days before `day` (the sweep); returns how many. */
  sweepSalts(day: string): number {
    return this.s.sweepSalts.run(day).changes
  }
}
