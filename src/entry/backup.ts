import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { OWNER_ONLY_UMASK } from './owner-only.ts'
import { loadConfig } from './process-host.ts'

/**
 * `npm run backup -- FILE`: a consistent copy of the embedded database, taken while the
 * server runs (SQLite's `VACUUM INTO` reads one snapshot, beside the server's writers, as
 * WAL lets readers do). The server holds its data folder for itself, so this is the way to
 * copy it live; the copy is the owner's alone, like the folder.
 */
process.umask(OWNER_ONLY_UMASK)
const target = process.argv[2]
if (!target || process.argv.length > 3) {
  process.stderr.write('usage: npm run backup -- FILE   (a new file: the copy of the database)\n')
  process.exit(1)
}
const config = loadConfig()
const source = join(config.DATA_DIR, 'liveinsight.db')
const into = resolve(target)
if (!existsSync(source)) {
  process.stderr.write(`backup: no database at ${source} (set DATA_DIR)\n`)
  process.exit(1)
}
if (existsSync(into)) {
  process.stderr.write(`backup: ${into} exists; name a new file\n`)
  process.exit(1)
}
const db = new Database(source, { readonly: true, fileMustExist: true })
try {
  db.prepare('VACUUM INTO ?').run(into)
} finally {
  db.close()
}
process.stdout.write(`${JSON.stringify({ backup: into, bytes: statSync(into).size })}\n`)
