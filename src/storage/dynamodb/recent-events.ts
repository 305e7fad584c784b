import type { LiveEvent, RecentEvents } from '../store.ts'
import { type Item, liveEventOf, ttlSeconds } from './items.ts'
import { requestPartition, timeKey } from './keys.ts'
import { distinctRequestEvents } from './request-items.ts'
import type { StoreContext } from './requests.ts'

/**
 * The live view's side: a site's latest events, from its request items (request-items.ts),
 * newest request first. A request item is keyed by its latest event's time, so the items
 * keyed from `since` on hold every event since then (and some earlier ones of the same
 * requests, left out here), and an item keyed before `since` holds none.
 */
export class DynamoDbRecentEvents implements RecentEvents {
  constructor(private readonly c: StoreContext) {}

  async liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    const out: LiveEvent[] = []
    const seen = new Set<string>()
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.c.requests.query('Query(requests)', {
        TableName: this.c.tables.events,
        KeyConditionExpression: 'pk = :pk AND sk >= :since',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':pk': requestPartition(siteId),
          ':since': timeKey(since),
          ':now': ttlSeconds(this.c.now()),
        },
        ScanIndexForward: false,
        // Each item holds one event at least; past the limit, read on by pages of some size.
        Limit: Math.max(100, limit - out.length),
        ExclusiveStartKey,
      })
      const items = (page.Items ?? []) as Item[]
      // An event that came again in another request is shown once, across pages too.
      for (const event of distinctRequestEvents(items, seen)) {
        if (event.timestamp >= since) out.push(liveEventOf(event as unknown as Item))
      }
      ExclusiveStartKey = page.LastEvaluatedKey
      // Past `limit` events, the items not read yet (latest event at most the last read
      // item's) can still hold one newer than the limit-th newest found: read on while so.
      if (out.length >= limit && ExclusiveStartKey) {
        const last = Number(String(items.at(-1)?.sk ?? '').slice(0, 13))
        const newest = out.map((e) => e.timestamp).sort((a, b) => b - a)
        if (last < (newest[limit - 1] as number)) break
      }
    } while (ExclusiveStartKey)
    // Oldest first; of events of the same millisecond, in the order their requests sent them.
    const ordered = out
      .map((event, i) => ({ event, i }))
      .sort((a, b) => b.event.timestamp - a.event.timestamp || a.i - b.i)
      .slice(0, limit)
      .reverse()
    return ordered.map(({ event }) => event)
  }
}
