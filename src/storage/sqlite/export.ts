import Database from 'better-sqlite3'
import type { SessionState, Site } from '../../core/types.ts'
import type { RecordSession } from '../../record/session-record.ts'
import type { EventRecord, RollupRow } from '../store.ts'
import { type RecordSiteRow, SqliteRecordReads } from './record-reads.ts'

const PAGE = 5000

/**
 * Reads what an embedded install holds, to move it to another store (`npm run move:aws`):
 * a read-only connection to the database file of a stopped server, everything in pages so a
 * large history never sits in memory at once. Span rollups are left behind: they are sums of
 * the counter rows, which another store reads its own way.
 */
export class SqliteExport {
  private readonly db: Database.Database

  private readonly record: SqliteRecordReads | undefined

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true })
    // A file the record's release never opened has no record to move (its sessions' events
    // are not known).
    const hasRecord = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_sites'")
      .get()
    this.record = hasRecord ? new SqliteRecordReads(this.db) : undefined
  }

  /** The site's record item (since, longest), if the file keeps a record of it. */
  recordSite(siteId: string): RecordSiteRow | undefined {
    return this.record?.site(siteId)
  }

  sites(): Site[] {
    return this.db.prepare('SELECT * FROM sites ORDER BY created_at, id').all() as Site[]
  }

  settings(): Array<{ name: string; value: string }> {
    return this.db.prepare('SELECT name, value FROM settings').all() as Array<{
      name: string
      value: string
    }>
  }

  salts(): Array<{ day: string; salt: string }> {
    return this.db.prepare('SELECT day, salt FROM salts').all() as Array<{
      day: string
      salt: string
    }>
  }

  /** A site's counter rows of one grain, every dimension, in pages. */
  *counterRows(siteId: string, grain: 'hour' | 'day'): Generator<RollupRow[]> {
    const page = this.db.prepare(
      `SELECT * FROM rollup_${grain} WHERE site_id = ? AND (dim, bucket, value) > (?, ?, ?)
       ORDER BY dim, bucket, value LIMIT ${PAGE}`,
    )
    // Before every row: the site total ('' dim) of any bucket sorts after ('', -1 or '', '').
    let after: [string, number | string, string] = ['', grain === 'hour' ? -1 : '', '']
    for (;;) {
      const rows = page.all(siteId, ...after) as RollupRow[]
      if (rows.length === 0) return
      yield rows
      const last = rows.at(-1) as RollupRow
      after = [last.dim, last.bucket, last.value]
      if (rows.length < PAGE) return
    }
  }

  /** A site's sessions, in pages. */
  *sessions(siteId: string): Generator<SessionState[]> {
    const page = this.db.prepare(
      `SELECT * FROM sessions WHERE site_id = ? AND id > ? ORDER BY id LIMIT ${PAGE}`,
    )
    let after = ''
    for (;;) {
      const rows = page.all(siteId, after) as SessionState[]
      if (rows.length === 0) return
      yield rows
      after = (rows.at(-1) as SessionState).id
      if (rows.length < PAGE) return
    }
  }

  /** A site's sessions with their events in the record (null where it holds none), in pages. */
  *recordedSessions(siteId: string): Generator<RecordSession[]> {
    const since = this.recordSite(siteId)?.since ?? null
    for (const sessions of this.sessions(siteId)) {
      yield this.record
        ? this.record.withEvents(sessions, since)
        : sessions.map((session) => ({ ...session, events: null }))
    }
  }

  /** A site's raw events since a time (those still within the event TTL), in pages. */
  *events(siteId: string, since: number): Generator<EventRecord[]> {
    const page = this.db.prepare(
      `SELECT * FROM events WHERE site_id = ? AND (timestamp, event_id) > (?, ?)
       ORDER BY timestamp, event_id LIMIT ${PAGE}`,
    )
    let after: [number, string] = [since - 1, '\uffff']
    for (;;) {
      const rows = (
        page.all(siteId, ...after) as Array<EventRecord & { props: string | null }>
      ).map((row) => ({ ...row, props: row.props ? JSON.parse(row.props) : null }))
      if (rows.length === 0) return
      yield rows
      const last = rows.at(-1) as EventRecord
      after = [last.timestamp, last.event_id]
      if (rows.length < PAGE) return
    }
  }

  close(): void {
    this.db.close()
  }
}
