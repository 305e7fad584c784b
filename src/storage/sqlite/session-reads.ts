// Sessions and their events as read back (SessionReads, the roll-up's lookups): reads, no write ordering.
import type Database from 'better-sqlite3'
import type { SessionState } from '../../core/types.ts'
import type { EventRecord, SessionLookup, SessionReads, UserSessionsQuery } from '../store.ts'
import type { LookupIndexes } from './lookup-indexes.ts'

/** Reads of sessions and events; a session lookup builds the lookup indexes first if dropped. */
export class SqliteSessionReads implements SessionReads {
  private readonly s

  constructor(
    db: Database.Database,
    private readonly lookupIndexes: LookupIndexes,
  ) {
    this.s = {
      sessionsOverlapping: db.prepare(
        `SELECT * FROM sessions WHERE site_id = ? AND client_session_id = ?
         AND start_time <= ? AND end_time >= ? ORDER BY start_time`,
      ),
      sessionById: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      // A session containing the time; else the nearest (the event may sit in a gap).
      sessionOfClientAt: db.prepare(
        `SELECT * FROM sessions WHERE site_id = @site AND client_session_id = @client
         ORDER BY CASE WHEN start_time <= @at AND end_time >= @at THEN 0 ELSE 1 END,
         min(abs(start_time - @at), abs(end_time - @at)) LIMIT 1`,
      ),
      eventsOfSession: db.prepare(
        `SELECT * FROM events WHERE site_id = ? AND timestamp BETWEEN ? AND ?
         AND client_session_id = ? ORDER BY timestamp, event_id`,
      ),
      userSessions: db.prepare(
        `SELECT * FROM sessions WHERE site_id = ? AND user_id = ? AND start_time < ?
         ORDER BY start_time DESC LIMIT ?`,
      ),
    }
  }

  /** The stored sessions each lookup overlaps, for a roll-up unit (RollupUnit.sessionsFor). */
  overlapping(lookups: readonly SessionLookup[]): SessionState[] {
    this.lookupIndexes.ensure()
    return lookups.flatMap(
      (l) =>
        this.s.sessionsOverlapping.all(
          l.site_id,
          l.client_session_id,
          l.to,
          l.from,
        ) as SessionState[],
    )
  }

  async getSession(id: string): Promise<SessionState | undefined> {
    return this.s.sessionById.get(id) as SessionState | undefined
  }

  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    this.lookupIndexes.ensure()
    return this.s.sessionOfClientAt.get({
      site: site_id,
      client: client_session_id,
      at,
    }) as SessionState | undefined
  }

  async sessionEvents(sessionId: string): Promise<EventRecord[]> {
    const session = this.s.sessionById.get(sessionId) as SessionState | undefined
    if (!session) return []
    const rows = this.s.eventsOfSession.all(
      session.site_id,
      session.start_time,
      session.end_time,
      session.client_session_id,
    ) as Array<EventRecord & { props: string | null }>
    return rows.map((row) => ({ ...row, props: row.props ? JSON.parse(row.props) : null }))
  }

  async userSessions(query: UserSessionsQuery): Promise<SessionState[]> {
    this.lookupIndexes.ensure()
    return this.s.userSessions.all(
      query.site_id,
      query.user_id,
      query.before ?? Number.MAX_SAFE_INTEGER,
      query.limit,
    ) as SessionState[]
  }
}
