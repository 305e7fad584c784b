import type { BotHit, RollupEvent } from '../core/types.ts'
import type { QueuedEntry } from '../storage/store.ts'

/** A queue entry as the roll-up needs it: its event cut to what the roll-up reads. */
export interface RollupEntry {
  seq: number
  item: { kind: 'event'; event: RollupEvent } | { kind: 'bot'; hit: BotHit }
}

/** What the accept thread posts to the roll-up thread for one committed entry. */
export function rollupEntryOf({ seq, item }: QueuedEntry): RollupEntry {
  if (item.kind === 'bot') return { seq, item }
  const e = item.event
  return {
    seq,
    item: {
      kind: 'event',
      event: {
        site_id: e.site_id,
        timezone: e.timezone,
        client_session_id: e.client_session_id,
        timestamp: e.timestamp,
        event_type: e.event_type,
        path: e.path,
        user_id: e.user_id,
        visitor_id: e.visitor_id,
        source: e.source,
        channel: e.channel,
        utm_source: e.utm_source,
        utm_medium: e.utm_medium,
        utm_campaign: e.utm_campaign,
        browser: e.browser,
        os: e.os,
        device: e.device,
        country: e.country,
      },
    },
  }
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
  private entries: RollupEntry[] = []

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
  push(entries: readonly RollupEntry[]): void {
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
  take(head: number | null, limit: number): RollupEntry[] | null {
    if (head === null) {
      this.entries = []
      return null
    }
    let start = 0
    while (start < this.entries.length && (this.entries[start] as RollupEntry).seq < head) start++
    if (start > 0) this.entries.splice(0, start)
    if (this.entries[0]?.seq !== head) return null
    let end = 1
    while (
      end < Math.min(limit, this.entries.length) &&
      (this.entries[end] as RollupEntry).seq === head + end
    ) {
      end++
    }
    return this.entries.splice(0, end)
  }
}
