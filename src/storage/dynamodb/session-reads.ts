import type { EnrichedEvent, SessionState } from '../../core/types.ts'
import { sessionHome } from '../../rollup/session-ids.ts'
import type { EventRecord, SessionReads, SiteDirectory, UserSessionsQuery } from '../store.ts'
import { eventsForgottenBefore } from './forgotten-events.ts'
import { eventRecordOf, fromTable, type Item, sessionOf, ttlSeconds } from './items.ts'
import { clientPartition, requestPartition, timeKey, userKey } from './keys.ts'
import { latestSessions, NearCopies, type PackedSessionReads } from './own-session-items.ts'
import { recordItem } from './record.ts'
import { distinctRequestEvents, REQUEST_SPAN_MS } from './request-items.ts'
import { type Requests, type StoreContext, unstorable } from './requests.ts'
import { DAY_MS } from './retention.ts'
import { INDEX } from './tables.ts'
import { overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/** Queries a timeline's read of raw events is cut into, read side by side. */
const TIMELINE_SLICES = 4

/**
 * The timelines' side: sessions by id, tracker session and user, and their raw events. The
 * Sessions table is a copy the sweep makes of the fold's windows (session-projection.ts):
 * each read lays over it the windows not copied yet (uncopied-sessions.ts), read after it.
 */
export class DynamoDbSessionReads implements SessionReads {
  private readonly near: NearCopies

  constructor(
    private readonly c: StoreContext,
    private readonly uncopied: UncopiedSessions,
    private readonly sites: Pick<SiteDirectory, 'listSites'>,
    packs: PackedSessionReads,
  ) {
    this.near = new NearCopies(c, packs)
  }

  async getSession(id: string): Promise<SessionState | undefined> {
    if (unstorable(id)) return undefined
    const one = (s: SessionState) => s.id === id
    // An id of session-ids.ts names its item's key: read by key, consistently; an anonymous
    // session may have no item, and is then in the copies made near its id's time
    // (own-session-items.ts). Either is laid over with its site's windows not copied yet.
    const home = sessionHome(id)
    if (home) {
      const [stored, near] = await Promise.all([
        this.c.requests.getItem(this.c.tables.sessions, {
          pk: clientPartition(home.site_id, home.client_session_id),
          sk: id,
        }),
        this.near.ofId(home.site_id, id),
      ])
      const [current] = latestSessions(
        stored ? [fromTable(stored)] : [],
        near,
        await this.uncopied.of(home.site_id),
        one,
      )
      return current
    }
    const found = await this.c.requests.query('Query(IdIndex)', {
      TableName: this.c.tables.sessions,
      IndexName: INDEX.sessionId,
      KeyConditionExpression: 'id = :id',
      ExpressionAttributeValues: { ':id': id },
    })
    const found0 = found.Items?.[0]
    const item = found0 ? fromTable(found0) : undefined
    if (item) {
      const [current] = overlaid([item], await this.uncopied.of(String(item.site_id)), (i) =>
        one(sessionOf(i)),
      )
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

  /**
   * The tracker session's session holding `at`, else the nearest: its sessions with an item of
   * their own, and those without one near `at` (own-session-items.ts). When none of those
   * holds `at`, the read reaches as far as the nearest found, or, finding none, ever further
   * until it covers the site's record (`since` to now): a tracker session's latest visit,
   * asked for at "now", may be days old.
   */
  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    if (unstorable(site_id, client_session_id)) return undefined
    const own = clientSessionItems(
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
    let covered: { since: number; to: number } | undefined
    let reach = 0
    for (;;) {
      const [items, near] = await Promise.all([own, this.near.around(site_id, at, reach)])
      // The windows read after the copies, as every read of the copy (uncopied-sessions.ts).
      const [nearest] = latestSessions(
        items,
        near,
        await this.uncopied.of(site_id),
        (s) => s.client_session_id === client_session_id,
      ).sort((a, b) => distance(a) - distance(b) || a.start_time - b.start_time)
      // Every session with a moment within `reach` of `at` was read: one as near is the nearest.
      if (nearest && distance(nearest) <= reach) return nearest
      if (nearest) {
        reach = distance(nearest)
        continue
      }
      covered ??= await this.recordSpan(site_id)
      if (at - reach <= covered.since && at + reach >= covered.to) return undefined
      reach = Math.max(2 * reach, DAY_MS)
    }
  }

  /** From the site's earliest recorded event to now: where any session of it can be. */
  private async recordSpan(siteId: string): Promise<{ since: number; to: number }> {
    const site = await recordItem(this.c, siteId)
    const now = this.c.now()
    return { since: typeof site?.since === 'number' ? site.since : now, to: now }
  }

  /**
   * A session's raw events: its site's request items (request-items.ts) keyed from its start
   * to REQUEST_SPAN_MS after its end (a request's latest event is at most that much later
   * than any of its events), filtered on its tracker session (`cs`; an item of several
   * sessions has none and is read through), in a few time slices read side by side.
   */
  async sessionEvents(sessionId: string): Promise<EventRecord[]> {
    const session = await this.getSession(sessionId)
    if (!session) return []
    // Events the sweep forgot, or past their TTL, may linger until DynamoDB deletes them.
    const forgotten = await eventsForgottenBefore(this.c)
    if (forgotten > session.end_time) return []
    const from = Math.max(session.start_time, forgotten)
    const to = session.end_time + REQUEST_SPAN_MS
    const step = Math.ceil((to - from + 1) / TIMELINE_SLICES)
    const slices = Array.from({ length: TIMELINE_SLICES }, (_, i) => from + i * step)
    const items = await Promise.all(
      slices.map((start, i) =>
        this.c.requests.queryAll({
          TableName: this.c.tables.events,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          FilterExpression:
            '(cs = :cs OR attribute_not_exists(cs)) AND #min <= :end AND #ttl > :now',
          ExpressionAttributeNames: { '#min': 'min', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':pk': requestPartition(session.site_id),
            ':from': timeKey(start),
            ':to': `${timeKey(i === TIMELINE_SLICES - 1 ? to : start + step - 1)}#\uffff`,
            ':cs': session.client_session_id,
            ':end': session.end_time,
            ':now': ttlSeconds(this.c.now()),
          },
        }),
      ),
    )
    const events: EnrichedEvent[] = []
    for (const event of distinctRequestEvents(items.flat())) {
      if (event.client_session_id !== session.client_session_id) continue
      if (event.timestamp < from || event.timestamp > session.end_time) continue
      events.push(event)
    }
    // In time order, then by event id: as the per-event items of the release before sorted.
    events.sort(
      (a, b) =>
        a.timestamp - b.timestamp ||
        (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0),
    )
    return events.map(eventRecordOf)
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
      (found.Items ?? []).map(fromTable),
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
  const items = await requests.queryAll({
    TableName: sessionsTable,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': clientPartition(siteId, clientSessionId) },
    ConsistentRead: consistent,
  })
  return items.map(fromTable)
}
