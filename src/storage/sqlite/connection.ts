import Database from 'better-sqlite3'

export interface ConnectionOptions {
  synchronous?: 'FULL' | 'NORMAL'
  /**
   * SQLite's page cache in MB (its default is 2), for a history import's large writes
   * (bench/NOTES.md). The server keeps the default; its writes are small.
   */
  cacheMb?: number
}

/** A connection as every part of the SQLite store uses it: WAL, and waiting on a busy lock. */
export function openConnection(file: string, options: ConnectionOptions): Database.Database {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
  db.pragma('busy_timeout = 5000')
  if (options.cacheMb) db.pragma(`cache_size = -${Math.round(options.cacheMb * 1024)}`)
  db.pragma('foreign_keys = ON')
  return db
}
