// The live view's read of recent events (RecentEvents): one statement, needing none of the write ordering.
import type Database from 'better-sqlite3'
import type { LiveEvent, RecentEvents } from '../store.ts'

/** A site's latest events, what the live view shows of them, oldest first. */
export class SqliteRecentEvents implements RecentEvents {
  private readonly liveEvents

  constructor(db: Database.Database) {
    this.liveEvents = db.prepare(
      `SELECT site_id, client_session_id AS session_id, visitor_id, timestamp, event_type, path,
              title, source, country, device, browser
       FROM events WHERE site_id = ? AND timestamp >= ? ORDER BY timestamp DESC LIMIT ?`,
    )
  }

  async liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    return (this.liveEvents.all(siteId, since, limit) as LiveEvent[]).reverse()
  }
}
