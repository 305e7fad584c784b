import type Database from 'better-sqlite3'
import { type ConnectionOptions, openConnection } from './connection.ts'
import { migrate } from './migrations.ts'
import { UnusableDatabaseError } from './unusable-database.ts'

/**
 * A connection to `file` at this release's schema, migrated if it was older.
 * @throws UnusableDatabaseError, with the file as it was, when this release must not use it
 */
export function openUsableDatabase(file: string, options: ConnectionOptions): Database.Database {
  let db: Database.Database | undefined
  try {
    db = openConnection(file, options)
    // The version first: a newer release's file is refused as such, read-only or not.
    migrate(db)
    checkWritable(db)
    return db
  } catch (error) {
    db?.close()
    throw readOnlyAs(file, error)
  }
}

/**
 * Proves the connection may write, by rewriting the schema version it already has in a
 * transaction that is rolled back. A file this user cannot write (its mode, an immutable
 * flag) still opens and answers reads: SQLite falls back to reading it, and the first write,
 * wherever it comes (the dashboard's settings at start, an accept), would fail as a storage
 * fault ("storage unavailable", retried, 503) instead of naming the file.
 */
function checkWritable(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number
  try {
    db.exec('BEGIN IMMEDIATE')
    try {
      db.pragma(`user_version = ${version}`)
    } finally {
      db.exec('ROLLBACK')
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    // Another connection is writing: the file is writable, and this one waits its turn later.
    if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) return
    throw error
  }
}

/** A write refused because the file is read-only, as the error that names the file; others as they are. */
function readOnlyAs(file: string, error: unknown): unknown {
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code !== 'string' || !code.startsWith('SQLITE_READONLY')) return error
  return new UnusableDatabaseError(
    file,
    `${file} cannot be written (${code}): make it writable for the user running LiveInsight ` +
      '(its mode, its owner, an immutable flag: lsattr shows it), or restore a writable copy',
    { cause: error },
  )
}
