import type { SiteDirectory } from '../store.ts'
import { requestPartition, STATE, timeKey } from './keys.ts'
import { isRequestItem, requestEvents } from './request-items.ts'
import type { StoreContext } from './requests.ts'

/**
 * How far the counters trail ingestion on Lambda, where no process can read the stream's
 * backlog (the event source mapping keeps its own place): the roll-up handler records, per
 * batch, the time of the newest event it counted, in one item (one write per batch, not per
 * event). An event newer than that is waiting, and the oldest such event has waited since it
 * happened: one `Query` of the site's request partition per site (`Limit 1`, from that time
 * on: request items are keyed by their latest event's time) finds the request holding it.
 * An estimate, not the backlog: concurrent shards overwrite each other's figure, and an event
 * older than the newest counted (a late one, or one on a slower shard) is not seen waiting.
 * The roll-up function's IteratorAge metric is the exact figure.
 */
export class RecordedRollupLag {
  constructor(
    private readonly c: StoreContext,
    private readonly sites: Pick<SiteDirectory, 'listSites'>,
  ) {}

  async record(newestEventAt: number): Promise<void> {
    await this.c.requests.put('PutItem(rollup lag)', {
      TableName: this.c.tables.state,
      Item: { pk: STATE.rollupLagPk, sk: STATE.one, newest_event_at: newestEventAt },
    })
  }

  /** RollupProgress.oldestPendingAcceptedAt, as far as the recorded batches tell. */
  async oldestPendingAcceptedAt(now = this.c.now()): Promise<number | null> {
    const last = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.rollupLagPk,
      sk: STATE.one,
    })
    // Before any batch, every stored event is waiting.
    const counted = Number(last?.newest_event_at ?? -1)
    let oldest: number | null = null
    for (const site of await this.sites.listSites()) {
      const newer = await this.c.requests.query('Query(requests)', {
        TableName: this.c.tables.events,
        // Keys are `time#id`: past every key of the counted millisecond.
        KeyConditionExpression: 'pk = :pk AND sk > :counted',
        ExpressionAttributeValues: {
          ':pk': requestPartition(site.id),
          ':counted': `${timeKey(counted)}#\uffff`,
        },
        // A read unit is billed by the item's size whatever is projected: the whole item.
        Limit: 1,
      })
      const first = newer.Items?.[0]
      if (!first) continue
      // Its earliest event newer than the counted one: a request's events are not all newer.
      let earliest = Number(String(first.sk).slice(0, 13))
      if (isRequestItem(first)) {
        for (const event of requestEvents(first)) {
          if (event.timestamp > counted) earliest = Math.min(earliest, event.timestamp)
        }
      }
      const at = Math.min(now, earliest)
      if (oldest === null || at < oldest) oldest = at
    }
    return oldest
  }
}
