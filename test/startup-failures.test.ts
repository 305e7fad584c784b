import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { startArgs } from '../scripts/start-command.ts'
import { SCHEMA_VERSION } from '../src/storage/sqlite/migrations.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { exited, spawnServer } from './support/child-server.ts'
import { runToExit, STACK_FRAME } from './support/run-to-exit.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dir = tempDir()
afterAll(() => dir.remove())
const PASSWORD = 'startup-failures-pw-1'

/** The built server (`npm start`) run to its end over `dataDir`. */
function startToExit(dataDir: string, wrap: string[] = [], env: Record<string, string> = {}) {
  const [command, ...args] = [...wrap, process.execPath, ...startArgs(ROOT)] as [
    string,
    ...string[],
  ]
  return runToExit(command, args, {
    ...process.env,
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_PASSWORD: PASSWORD,
    ...env,
  })
}

/** A data folder with a database as this release writes it, owner-only as the server keeps it. */
async function dataDirWithDatabase(name: string): Promise<{ dataDir: string; file: string }> {
  const dataDir = join(dir.path, name)
  mkdirSync(dataDir, { mode: 0o700 })
  const file = join(dataDir, 'liveinsight.db')
  await new SqliteStore({ file }).close()
  chmodSync(file, 0o600)
  return { dataDir, file }
}

const versionOf = (file: string) => {
  const db = new Database(file, { readonly: true })
  try {
    return db.pragma('user_version', { simple: true })
  } finally {
    db.close()
  }
}

/** Whether this file system takes the immutable flag (ext4 does, tmpfs and overlayfs may not). */
function canMakeImmutable(): boolean {
  const probe = join(dir.path, 'immutable-probe')
  writeFileSync(probe, '')
  const set = spawnSync('chattr', ['+i', probe])
  if (set.status !== 0) return false
  execFileSync('chattr', ['-i', probe])
  return true
}

/** Whether this process may make a mount namespace of its own and bind-mount in it (root, not in a locked-down container). */
function canMountReadOnly(): boolean {
  const probe = join(dir.path, 'mount-probe')
  mkdirSync(probe)
  return (
    spawnSync('unshare', [
      '-m',
      'sh',
      '-c',
      `mount --bind "${probe}" "${probe}" && mount -o remount,bind,ro "${probe}"`,
    ]).status === 0
  )
}

describe('a database this release must not use is refused in a line, exit 3', () => {
  it('names a database a newer release wrote, its version, and says to upgrade; the file is left as it was', async () => {
    const { dataDir, file } = await dataDirWithDatabase('newer')
    const newer = SCHEMA_VERSION + 3
    const db = new Database(file)
    db.pragma(`user_version = ${newer}`)
    db.close()

    const refused = await startToExit(dataDir)
    expect(refused.code).toBe(3)
    expect(refused.stderr).toContain(
      `liveinsight: ${file} was written by a newer release of LiveInsight (schema version ${newer}; this release reads up to ${SCHEMA_VERSION}): upgrade LiveInsight`,
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
    // Not migrated, not touched: the newer release still opens it as it left it.
    expect(versionOf(file)).toBe(newer)
  })

  it.skipIf(!canMakeImmutable())(
    'names a database file it cannot write, instead of starting and failing every event',
    async () => {
      const { dataDir, file } = await dataDirWithDatabase('read-only')
      // Immutable: not even root may write it, as a read-only file is to any other user.
      execFileSync('chattr', ['+i', file])
      try {
        const refused = await startToExit(dataDir)
        expect(refused.code).toBe(3)
        expect(refused.stderr).toContain(`liveinsight: ${file} cannot be written (SQLITE_READONLY`)
        expect(refused.stderr).toContain('make it writable for the user running LiveInsight')
        expect(refused.stderr).not.toMatch(STACK_FRAME)
      } finally {
        execFileSync('chattr', ['-i', file])
      }
      // Made writable again, the same folder starts: nothing was left half-done or locked.
      const server = await spawnServer({ DATA_DIR: dataDir, ADMIN_PASSWORD: PASSWORD })
      expect((await fetch(`${server.url}/health`)).status).toBe(200)
      server.child.kill('SIGTERM')
      await exited(server.child)
    },
  )
})

describe('a data folder on a read-only file system is refused in a line, exit 1', () => {
  it.skipIf(!canMountReadOnly())(
    'names the folder, the read-only file system and DATA_DIR',
    async () => {
      const { dataDir } = await dataDirWithDatabase('read-only-fs')
      // The server runs in a mount namespace of its own where the folder is mounted read-only:
      // a real EROFS for every write, gone with the process.
      const refused = await startToExit(dataDir, [
        'unshare',
        '-m',
        'sh',
        '-c',
        'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
        dataDir,
      ])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain(
        `liveinsight: cannot use the data folder ${dataDir} (EROFS: a read-only file system): set DATA_DIR`,
      )
      expect(refused.stderr).not.toMatch(STACK_FRAME)
    },
  )
})

describe('a city database that cannot be opened is refused in a line, exit 1', () => {
  it('names GEO_CITY_DATABASE and the missing file, before the data folder is made', async () => {
    const dataDir = join(dir.path, 'city-database-missing')
    const missing = join(dir.path, 'GeoLite2-City.mmdb')
    const refused = await startToExit(dataDir, [], { GEO_CITY_DATABASE: missing })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `liveinsight: GEO_CITY_DATABASE: cannot open ${missing} (no such file)`,
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
    expect(existsSync(dataDir)).toBe(false)
  })

  it('names a file that is not an MMDB database', async () => {
    const text = join(dir.path, 'cities.csv')
    writeFileSync(text, 'country,city\nKR,Seoul\n')
    const refused = await startToExit(join(dir.path, 'city-database-text'), [], {
      GEO_CITY_DATABASE: text,
    })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `liveinsight: GEO_CITY_DATABASE: cannot open ${text} (not an MMDB database`,
    )
    expect(refused.stderr).not.toMatch(STACK_FRAME)
  })
})
