import type { LiveEvent, RecentEvents } from '../store.ts'
import { liveEventOf, ttlSeconds } from './items.ts'
import { timeKey } from './keys.ts'
import type { StoreContext } from './requests.ts'
import { INDEX } from './tables.ts'

/** The live view's side: a site's latest events, newest first from SiteTimeIndex. */
export class DynamoDbRecentEvents implements RecentEvents {
  constructor(private readonly c: StoreContext) {}

  async liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    const out: LiveEvent[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.c.requests.query('Query(SiteTimeIndex)', {
        TableName: this.c.tables.events,
        IndexName: INDEX.siteTime,
        KeyConditionExpression: 'site_id = :site AND sk >= :since',
        FilterExpression: '#ttl > :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':site': siteId,
          ':since': timeKey(since),
          ':now': ttlSeconds(this.c.now()),
        },
        ScanIndexForward: false,
        Limit: limit - out.length,
        ExclusiveStartKey,
      })
      for (const item of page.Items ?? []) out.push(liveEventOf(item))
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey && out.length < limit)
    return out.slice(0, limit).reverse()
  }
}
