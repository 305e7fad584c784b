import type { SessionState } from '../../core/types.ts'
import type { EventRecord, SessionReads, UserSessionsQuery } from '../store.ts'
import { eventsForgottenBefore } from './forgotten-events.ts'
import { eventRecordOf, type Item, sessionOf, ttlSeconds } from './items.ts'
import { clientPartition, timeKey, userKey } from './keys.ts'
import { type Requests, type StoreContext, unstorable } from './requests.ts'
import { INDEX } from './tables.ts'

/** The timelines' side: sessions by id, tracker session and user, and their raw events. */
export class DynamoDbSessionReads implements SessionReads {
  constructor(private readonly c: StoreContext) {}

  async getSession(id: string): Promise<SessionState | undefined> {
    if (unstorable(id)) return undefined
    const found = await this.c.requests.query('Query(IdIndex)', {
      TableName: this.c.tables.sessions,
      IndexName: INDEX.sessionId,
      KeyConditionExpression: 'id = :id',
      ExpressionAttributeValues: { ':id': id },
    })
    const item = found.Items?.[0]
    return item ? sessionOf(item) : undefined
  }

  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    const sessions = await clientSessions(
      this.c.requests,
      this.c.tables.sessions,
      site_id,
      client_session_id,
      false,
    )
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
    const found = await this.c.requests.query('Query(UserIndex)', {
      TableName: this.c.tables.sessions,
      IndexName: INDEX.sessionsByUser,
      KeyConditionExpression: 'user_key = :u AND start_time < :before',
      ExpressionAttributeValues: {
        ':u': userKey(query.site_id, query.user_id),
        ':before': query.before ?? Number.MAX_SAFE_INTEGER,
      },
      ScanIndexForward: false,
      Limit: query.limit,
    })
    return (found.Items ?? []).map(sessionOf)
  }
}

/**
 * A tracker session's stored sessions: one Query of its partition, consistent where the
 * roll-up reads them to write them again.
 */
export async function clientSessions(
  requests: Requests,
  sessionsTable: string,
  siteId: string,
  clientSessionId: string,
  consistent: boolean,
): Promise<SessionState[]> {
  return (
    await clientSessionItems(requests, sessionsTable, siteId, clientSessionId, consistent)
  ).map(sessionOf)
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
