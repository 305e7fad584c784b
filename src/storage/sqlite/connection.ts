import Database from 'better-sqlite3'
import { errorMessage } from '../../core/error-message.ts'
import { StorageUnavailableError } from '../store.ts'

export interface ConnectionOptions {
  synchronous?: 'FULL' | 'NORMAL'
  /**
   * SQLite's page cache in MB (its default is 2), for a history import's large writes
   * (bench/NOTES.md). The server keeps the default; its writes are small.
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

/**
 * SQLite's result codes (and their extended forms) for storage that cannot be used now, as
 * opposed to data or SQL that is wrong: the lock is held elsewhere past the busy timeout, the
 * disk or the page limit is full, an I/O error, memory, a file that cannot be opened or
 * written.
 */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|NOMEM|CANTOPEN|READONLY|PROTOCOL)(_|$)/

/** An error as the Store reports it: StorageUnavailableError for a fault of the storage. */
export function storageError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code !== 'string' || !UNAVAILABLE.test(code)) return error
  return new StorageUnavailableError(`storage unavailable (${code}): ${errorMessage(error)}`, {
    cause: error,
  })
}

/** Runs statements; a fault of the storage (locked, full, I/O) comes out as StorageUnavailableError. */
export function unavailableAs<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw storageError(error)
  }
}

export function rethrowUnavailable(error: unknown): never {
  throw storageError(error)
}
