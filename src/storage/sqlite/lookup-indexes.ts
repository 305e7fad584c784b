import type Database from 'better-sqlite3'

/**
 * The sessions' lookup indexes, which a bulk load drops and builds again at its end
 * (Store.beginBulkLoad). Session ids start with their creation time, so a history import
 * appends sessions to the table in order; but these indexes are keyed by the tracker's
 * session id or the user id, which are random: kept up row by row, each new session lands on
 * a random page of an index larger than the page cache. Built once from the finished table,
 * SQLite sorts instead. The statements are the base schema's (migrations.ts; a test holds
 * them equal), with IF NOT EXISTS so that building is also the repair after a crash mid-load.
 */
const LOOKUP_INDEXES = [
  'CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (site_id, client_session_id, start_time)',
  'CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (site_id, user_id, start_time) WHERE user_id IS NOT NULL',
] as const

const NAMES = LOOKUP_INDEXES.map((sql) => (sql.match(/EXISTS (\w+) ON/) as RegExpMatchArray)[1])

export function dropLookupIndexes(db: Database.Database): void {
  db.transaction(() => {
    for (const name of NAMES) db.exec(`DROP INDEX IF EXISTS ${name}`)
  })()
}

/** Builds whichever lookup index is missing; a no-op when all are there. */
export function buildLookupIndexes(db: Database.Database): void {
  db.transaction(() => {
    for (const sql of LOOKUP_INDEXES) db.exec(sql)
  })()
}

/** The lookup indexes of one connection's store: whether a bulk load has them dropped. */
export class LookupIndexes {
  private dropped = false

  constructor(private readonly db: Database.Database) {}

  drop(): void {
    dropLookupIndexes(this.db)
    this.dropped = true
  }

  /**
   * Builds the lookup indexes first if a bulk load dropped them: a lookup without them would
   * scan every session. The load goes on with them from then on.
   */
  ensure(): void {
    if (!this.dropped) return
    buildLookupIndexes(this.db)
    this.dropped = false
  }
}
