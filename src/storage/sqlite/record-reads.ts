// The record as the filtered query reads it (RecordReads): reads, no write ordering.
import type Database from 'better-sqlite3'
import type { PropValue, SessionState } from '../../core/types.ts'
import type { RecordEvent, RecordReads, RecordSession } from '../../record/session-record.ts'

/** The period read's statements (exported so a test can hold their query plans). */
export const RECORD_SQL = {
  sessions: `SELECT * FROM sessions WHERE site_id = ? AND start_time BETWEEN ? AND ?
    AND end_time >= ? ORDER BY start_time, id`,
  events: `SELECT timestamp, event_id, event_type, path, props FROM record_events
    WHERE site_id = ? AND client_session_id = ? AND timestamp BETWEEN ? AND ?
    ORDER BY timestamp, ord`,
} as const

export interface RecordSiteRow {
  since: number | null
  longest: number
}

/**
 * What a saved copy of a site's columns is checked against (record/columns-snapshot.ts):
 * `rewrites` grows with every rewrite of the past record, `nextOrd` with every recorded event,
 * so a copy is of this record exactly when its rewrites are equal and its nextOrd is not
 * larger (a database restored from an older backup has a smaller one).
 */
export interface RecordIdentity {
  rewrites: number
  nextOrd: number
}

/**
 * A period's sessions are one range of sessions_by_start: those that start in
 * [from - longest, to], `longest` being the site's longest session (record_sites), so no
 * session that reaches into the period from before it is missed and none that ended before
 * it is read far back. Each session's events are one range of record_events' key: its
 * tracker session's events within its own start and end, which are its events whatever
 * merges later units made (two sessions of one tracker session never overlap).
 */
export class SqliteRecordReads implements RecordReads {
  private readonly s

  constructor(db: Database.Database) {
    this.s = {
      site: db.prepare('SELECT since, longest FROM record_sites WHERE site_id = ?'),
      identity: db.prepare(
        'SELECT rewrites, next_ord AS nextOrd FROM record_sites WHERE site_id = ?',
      ),
      sessions: db.prepare(RECORD_SQL.sessions),
      events: db.prepare(RECORD_SQL.events).raw(),
    }
  }

  async recordSessions(siteId: string, from: number, to: number): Promise<RecordSession[]> {
    const site = this.s.site.get(siteId) as RecordSiteRow | undefined
    // Without a row no session was written since the record began: read the whole range.
    const earliestStart = site ? from - site.longest : Number.MIN_SAFE_INTEGER
    const since = site?.since ?? null
    const sessions = this.s.sessions.all(siteId, earliestStart, to, from) as SessionState[]
    return this.withEvents(sessions, since)
  }

  /** Sessions of one site with their events, null for those from before `since`. */
  withEvents(sessions: readonly SessionState[], since: number | null): RecordSession[] {
    return sessions.map((session) => ({
      ...session,
      events: since === null || session.start_time < since ? null : this.eventsOf(session),
    }))
  }

  /** The site's record item: since when it holds events, and its longest session (ms). */
  site(siteId: string): RecordSiteRow | undefined {
    return this.s.site.get(siteId) as RecordSiteRow | undefined
  }

  /** Null while the site has recorded nothing. */
  identity(siteId: string): RecordIdentity | null {
    return (this.s.identity.get(siteId) as RecordIdentity | undefined) ?? null
  }

  async recordSince(siteId: string): Promise<number | null> {
    return (this.s.site.get(siteId) as RecordSiteRow | undefined)?.since ?? null
  }

  private eventsOf(session: SessionState): RecordEvent[] {
    const rows = this.s.events.all(
      session.site_id,
      session.client_session_id,
      session.start_time,
      session.end_time,
    ) as Array<[number, string, string, string, string | null]>
    return rows.map(([timestamp, event_id, event_type, path, props]) => ({
      event_id,
      timestamp,
      event_type,
      path,
      props: props === null ? null : (JSON.parse(props) as Record<string, PropValue>),
    }))
  }
}
