import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

/** What holds a data folder: the server, or a tool that must not run beside it. */
export type DataDirUse = 'server' | 'import' | 'move:aws'

/** Another process holds the data folder; `holder` is what it recorded of itself, if it could. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: string | undefined,
  ) {
    super(
      `${dataDir} is in use by another LiveInsight process${holder ? ` (${holder})` : ''}: stop it first, or set DATA_DIR to another folder`,
    )
    this.name = 'DataDirBusyError'
  }
}

export interface DataDirLock {
  /** Lets the folder go; the OS does the same when the process dies, however it dies. */
  release(): void
}

const LOCK_FILE = 'liveinsight.lock'
/** Who holds the lock, for the message a refused process prints; never what decides. */
const HOLDER_FILE = 'liveinsight.pid'

export function holderFile(dataDir: string): string {
  return join(dataDir, HOLDER_FILE)
}

/**
 * One process at a time per data folder: two servers would each keep the day's visitor
 * marks in memory and count visitors twice, and so would an import beside a server. The
 * lock is an exclusive lock on a small SQLite database in the folder (locking_mode EXCLUSIVE,
 * then a write): SQLite takes it with the OS's own file locks, which the OS releases when
 * the process ends, so a killed server never leaves the folder locked, and nothing is
 * removed on another process's behalf. (Node 20 has no flock of its own.)
 */
export function lockDataDir(dataDir: string, use: DataDirUse): DataDirLock {
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 })
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, use TEXT, since INTEGER)')
    db.prepare('INSERT INTO holder VALUES (?, ?, ?)').run(process.pid, use, Date.now())
    db.exec('DELETE FROM holder')
  } catch (error) {
    db.close()
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new DataDirBusyError(dataDir, holderOf(dataDir))
    }
    throw error
  }
  writeFileSync(holderFile(dataDir), `${process.pid} ${use}\n`)
  let released = false
  return {
    release() {
      if (released) return
      released = true
      // Ours while the lock is: no other process can have written it meanwhile.
      rmSync(holderFile(dataDir), { force: true })
      db.close()
    },
  }
}

function holderOf(dataDir: string): string | undefined {
  try {
    const [pid, use] = readFileSync(holderFile(dataDir), 'utf8').trim().split(' ')
    return pid ? `pid ${pid}${use ? `, ${use}` : ''}` : undefined
  } catch {
    return undefined
  }
}
