import type { SessionState } from '../../core/types.ts'
import type { EventRecord, SessionReads, SiteDirectory, UserSessionsQuery } from '../store.ts'
import { eventsForgottenBefore } from './forgotten-events.ts'
import { eventRecordOf, type Item, sessionOf, ttlSeconds } from './items.ts'
import { clientPartition, timeKey, userKey } from './keys.ts'
import { type Requests, type StoreContext, unstorable } from './requests.ts'
import { INDEX } from './tables.ts'
import { overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * The timelines' side: sessions by id, tracker session and user, and their raw events. The
 * Sessions table is a copy the sweep makes of the fold's windows (session-projection.ts):
 * each read lays over it the windows not copied yet (uncopied-sessions.ts), read after it.
 */
export class DynamoDbSessionReads implements SessionReads {
  constructor(
    private readonly c: StoreContext,
    private readonly uncopied: UncopiedSessions,
    private readonly sites: Pick<SiteDirectory, 'listSites'>,
  ) {}

  async getSession(id: string): Promise<SessionState | undefined> {
    if (unstorable(id)) return undefined
    const found = await this.c.requests.query('Query(IdIndex)', {
      TableName: this.c.tables.sessions,
      IndexName: INDEX.sessionId,
      KeyConditionExpression: 'id = :id',
      ExpressionAttributeValues: { ':id': id },
    })
    const item = found.Items?.[0]
    const one = (i: Item) => String(i.id) === id
    if (item) {
      const [current] = overlaid([item], await this.uncopied.of(String(item.site_id)), one)
      return current ? sessionOf(current) : undefined
    }
    // Not copied yet: in one site's windows since the last settled copy.
    for (const site of await this.sites.listSites()) {
      for (const later of (await this.uncopied.of(site.id)).sessions.values()) {
        if (later.id === id) return sessionOf(later)
      }
    }
    return undefined
  }

  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    if (unstorable(site_id, client_session_id)) return undefined
    const items = await clientSessionItems(
      this.c.requests,
      this.c.tables.sessions,
      site_id,
      client_session_id,
      false,
    )
    const sessions = overlaid(
      items,
      await this.uncopied.of(site_id),
      (item) => item.client_session_id === client_session_id,
    ).map(sessionOf)
    const distance = (s: SessionState) =>
      s.start_time <= at && s.end_time >= at
        ? -1
        : Math.min(Math.abs(s.start_time - at), Math.abs(s.end_time - at))
    return sessions.sort((a, b) => distance(a) - distance(b) || a.start_time - b.start_time)[0]
  }

  async sessionEvents(sessionId: string): Promise<EventRecord[]> {
    const session = await this.getSession(sessionId)
    if (!session) return []
    // Events the sweep forgot, or past their TTL, may linger until DynamoDB deletes them.
    const forgotten = await eventsForgottenBefore(this.c)
    if (forgotten > session.end_time) return []
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.events,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      FilterExpression: '#ttl > :now',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':pk': clientPartition(session.site_id, session.client_session_id),
        ':from': timeKey(Math.max(session.start_time, forgotten)),
        ':to': `${timeKey(session.end_time)}#\uffff`,
        ':now': ttlSeconds(this.c.now()),
      },
    })
    return items.map(eventRecordOf)
  }

  async userSessions(query: UserSessionsQuery): Promise<SessionState[]> {
    if (unstorable(query.site_id, query.user_id)) return []
    const before = query.before ?? Number.MAX_SAFE_INTEGER
    const found = await this.c.requests.query('Query(UserIndex)', {
      TableName: this.c.tables.sessions,
      IndexName: INDEX.sessionsByUser,
      KeyConditionExpression: 'user_key = :u AND start_time < :before',
      ExpressionAttributeValues: { ':u': userKey(query.site_id, query.user_id), ':before': before },
      ScanIndexForward: false,
      Limit: query.limit,
    })
    const uncopied = await this.uncopied.of(query.site_id)
    const items = overlaid(
      found.Items ?? [],
      uncopied,
      (item) => item.user_id === query.user_id && Number(item.start_time) < before,
    )
    // The index's page holds the latest `limit` copies; an uncopied session or version may
    // push one out, or take one's place: the page is sorted again and cut to the limit. One
    // the windows merged away leaves the page a session short only while it is uncopied.
    return items
      .map(sessionOf)
      .sort((a, b) => b.start_time - a.start_time || (a.id < b.id ? 1 : -1))
      .slice(0, query.limit)
  }
}

/** The items of a tracker session's sessions, record attributes included. */
export async function clientSessionItems(
  requests: Requests,
  sessionsTable: string,
  siteId: string,
  clientSessionId: string,
  consistent: boolean,
): Promise<Item[]> {
  if (unstorable(siteId, clientSessionId)) return []
  return requests.queryAll({
    TableName: sessionsTable,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': clientPartition(siteId, clientSessionId) },
    ConsistentRead: consistent,
  })
}
