import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir.ts'
import { describeStoreContract } from '../store.contract.ts'
import { MIGRATIONS } from './migrations.ts'
import { SqliteStore } from './sqlite-store.ts'

describeStoreContract('sqlite', async () => {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'test.db') })
  return {
    store,
    cleanup: async () => {
      await store.close()
      dir.remove()
    },
  }
})

describe('SqliteStore specifics', () => {
  it('refuses an in-memory database: the embedded shape is a real file', () => {
    expect(() => new SqliteStore({ file: ':memory:' })).toThrow(/file path/)
  })

  it('writes a WAL-mode file with the schema version recorded', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'nested', 'x.db')
    const store = new SqliteStore({ file })
    await store.close()
    const db = new Database(file, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    db.close()
    // Opening again does not re-run migrations.
    const again = new SqliteStore({ file })
    await again.close()
    dir.remove()
  })

  it('rolls back a unit of work that fails half-way', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    await expect(
      store.ingest(async (unit) => {
        await unit.claimMarks([{ site_id: 's', day: '2026-01-01', scope: '', visitor_id: 'v' }])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const claimedAgain = await store.ingest((unit) =>
      unit.claimMarks([{ site_id: 's', day: '2026-01-01', scope: '', visitor_id: 'v' }]),
    )
    expect(claimedAgain).toEqual([true])
    await store.close()
    dir.remove()
  })

  it('fails health checks once closed', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    await store.close()
    await expect(store.health()).rejects.toThrow()
    dir.remove()
  })
})
