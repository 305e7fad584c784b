import Database from 'better-sqlite3'

export interface FullDatabase {
  /** The connection that fills the file (any test may read through it). */
  filler: Database.Database
  /** Fills the file to the page limit, all but `sparePages` of it. */
  start: () => void
  /** Frees the space again. */
  stop: () => void
  close: () => void
}

/**
 * A disk as good as full, for a store opened with `maxPageCount: maxPages` (SQLite's
 * max_page_count, SQLITE_FULL past it): another connection fills the file with ballast up to
 * that limit, leaving `sparePages` free (0: no write that needs a page fits; a few: a small
 * write still fits while a large one does not). Deleting the ballast frees it again.
 */
export function fullDatabase(file: string, maxPages: number, sparePages = 0): FullDatabase {
  const filler = new Database(file)
  filler.pragma('busy_timeout = 5000')
  filler.pragma('synchronous = OFF')
  filler.pragma(`max_page_count = ${maxPages}`)
  filler.exec('CREATE TABLE IF NOT EXISTS ballast (b BLOB)')
  const insert = filler.prepare('INSERT INTO ballast (b) VALUES (zeroblob(?))')
  const full = (size: number) => {
    try {
      insert.run(size)
      return false
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_FULL') throw error
      return true
    }
  }
  const free = () => filler.pragma('freelist_count', { simple: true }) as number
  return {
    filler,
    start: () => {
      // Large rows up to the limit; then one removed, and rows of a page each (two do not
      // fit in one) until only the spare pages are left.
      while (!full(64_000));
      filler.exec('DELETE FROM ballast WHERE rowid = (SELECT max(rowid) FROM ballast)')
      while (free() > sparePages) if (full(3000)) break
      // Rows smaller than a page fill what is left when none may stay free.
      if (sparePages === 0) while (!full(100));
      if (free() > sparePages) throw new Error(`fullDatabase: ${free()} pages left free`)
    },
    stop: () => {
      filler.exec('DELETE FROM ballast')
    },
    close: () => filler.close(),
  }
}
