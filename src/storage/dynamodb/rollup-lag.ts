import type { SiteDirectory } from '../store.ts'
import { STATE, timeKey } from './keys.ts'
import type { StoreContext } from './requests.ts'
import { INDEX } from './tables.ts'

/**
 * After this long without a batch the roll-up is idle or stalled, not just between batches:
 * longer than the longest batching window Terraform allows (60 s) and a batch's work.
 */
export const LAG_STALE_MS = 90_000

/**
 * How far the counters trail ingestion on Lambda, where no process can read the stream's
 * backlog (the event source mapping keeps its own place): the roll-up handler records, per
 * batch, when it finished and when the batch's oldest event was accepted, in one item (one
 * write per batch, not per event; concurrent shards overwrite each other, and the latest
 * batch is the one that tells). A reader takes the latest batch's wait for the lag while
 * batches keep coming; once none has come for LAG_STALE_MS, events newer than the last batch
 * are waiting (the roll-up stalled), or there are none (nothing to count).
 */
export class RecordedRollupLag {
  constructor(
    private readonly c: StoreContext,
    private readonly sites: Pick<SiteDirectory, 'listSites'>,
  ) {}

  async record(oldestAcceptedAt: number, doneAt: number): Promise<void> {
    await this.c.requests.put('PutItem(rollup lag)', {
      TableName: this.c.tables.state,
      Item: {
        pk: STATE.rollupLagPk,
        sk: STATE.one,
        oldest_accepted_at: oldestAcceptedAt,
        done_at: doneAt,
      },
    })
  }

  /** RollupProgress.oldestPendingAcceptedAt, as far as the recorded batches tell. */
  async oldestPendingAcceptedAt(now = this.c.now()): Promise<number | null> {
    const last = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.rollupLagPk,
      sk: STATE.one,
    })
    const doneAt = Number(last?.done_at ?? Number.NEGATIVE_INFINITY)
    if (now - doneAt <= LAG_STALE_MS) {
      const waited = doneAt - Number(last?.oldest_accepted_at ?? doneAt)
      return waited > 0 ? now - waited : null
    }
    // No batch lately: does any site have an event newer than the last batch? The oldest
    // such event has waited since it happened (an event's key starts with its time).
    const since = Number.isFinite(doneAt) ? doneAt : 0
    let oldest: number | null = null
    for (const site of await this.sites.listSites()) {
      const newer = await this.c.requests.query('Query(SiteTimeIndex)', {
        TableName: this.c.tables.events,
        IndexName: INDEX.siteTime,
        KeyConditionExpression: 'site_id = :site AND sk > :since',
        ExpressionAttributeValues: { ':site': site.id, ':since': timeKey(since) },
        ProjectionExpression: 'sk',
        Limit: 1,
      })
      const first = newer.Items?.[0]
      if (!first) continue
      const at = Math.min(now, Number(String(first.sk).slice(0, 13)))
      if (oldest === null || at < oldest) oldest = at
    }
    return oldest
  }
}
