// Deleting an identified user's data (UserErasure): the store runs it between roll-up units.
import type Database from 'better-sqlite3'
import type { UserDataDeleted } from '../store.ts'

interface UserSession {
  id: string
  client_session_id: string
  start_time: number
  end_time: number
}

/**
 * One transaction: the user's sessions, each session's record events and raw events (its
 * tracker session's within its span, those sent before `identify` included), and raw events
 * that carry the user id outside any session (not rolled up yet). Raw events are at most a
 * day's, so the last delete reads one site's day, not the history.
 */
export class SqliteUserErasure {
  private readonly s

  constructor(private readonly db: Database.Database) {
    this.s = {
      sessions: db.prepare(
        `SELECT id, client_session_id, start_time, end_time FROM sessions
         WHERE site_id = ? AND user_id = ?`,
      ),
      recordEvents: db.prepare(
        `DELETE FROM record_events WHERE site_id = ? AND client_session_id = ?
         AND timestamp BETWEEN ? AND ?`,
      ),
      rawEvents: db.prepare(
        `DELETE FROM events WHERE site_id = ? AND timestamp BETWEEN ? AND ?
         AND client_session_id = ?`,
      ),
      rawEventsOfUser: db.prepare('DELETE FROM events WHERE site_id = ? AND user_id = ?'),
      session: db.prepare('DELETE FROM sessions WHERE id = ?'),
      rewritten: db.prepare('UPDATE record_sites SET rewrites = rewrites + 1 WHERE site_id = ?'),
    }
  }

  deleteUserData(siteId: string, userId: string): UserDataDeleted {
    const s = this.s
    return this.db
      .transaction((): UserDataDeleted => {
        const deleted = { sessions: 0, events: 0, raw_events: 0 }
        for (const session of s.sessions.all(siteId, userId) as UserSession[]) {
          const { client_session_id: client, start_time: from, end_time: to } = session
          deleted.events += s.recordEvents.run(siteId, client, from, to).changes
          deleted.raw_events += s.rawEvents.run(siteId, from, to, client).changes
          deleted.sessions += s.session.run(session.id).changes
        }
        deleted.raw_events += s.rawEventsOfUser.run(siteId, userId).changes
        // In the same transaction: no saved copy of the columns outlives what it copied.
        s.rewritten.run(siteId)
        return deleted
      })
      .immediate()
  }
}
