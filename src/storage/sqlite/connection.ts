import Database from 'better-sqlite3'

export interface ConnectionOptions {
  synchronous?: 'FULL' | 'NORMAL'
  /**
   * SQLite's page cache in MB (its default is 2). A history import writes a session row per
   * few events into an index keyed by client session id, which lands on random pages, so a
   * larger cache saves re-reading them (bench/NOTES.md). The server keeps the default; its
   * writes are small.
   */
  cacheMb?: number
  /**
   * How long a write waits for the write lock another connection holds before it fails with
   * SQLITE_BUSY (SQLITE_BUSY_TIMEOUT_MS); 5 s when absent.
   */
  busyTimeoutMs?: number
  /** Tests only: the file may grow to this many pages, then writes fail as on a full disk. */
  maxPageCount?: number
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000

/** A connection as every part of the SQLite store uses it: WAL, and waiting on a busy lock. */
export function openConnection(file: string, options: ConnectionOptions): Database.Database {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`)
  if (options.maxPageCount) db.pragma(`max_page_count = ${options.maxPageCount}`)
  if (options.cacheMb) db.pragma(`cache_size = -${Math.round(options.cacheMb * 1024)}`)
  db.pragma('foreign_keys = ON')
  return db
}
