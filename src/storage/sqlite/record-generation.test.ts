import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { SqliteStore } from './sqlite-store.ts'

/**
 * The signal the record's columns (record/record-columns.ts) drop a site's closed days on:
 * whatever rewrites a site's past record in this process changes its generation.
 */
describe('SqliteStore.recordGeneration', () => {
  it("changes with a user's deletion (that site only) and with a bulk load", async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    try {
      const a = store.recordGeneration('site-a')
      const b = store.recordGeneration('site-b')
      expect(store.recordGeneration('site-a')).toBe(a)
      await store.deleteUserData('site-a', 'alice')
      const afterDelete = store.recordGeneration('site-a')
      expect(afterDelete).not.toBe(a)
      expect(store.recordGeneration('site-b')).toBe(b)
      await store.beginBulkLoad()
      await store.endBulkLoad()
      expect(store.recordGeneration('site-a')).not.toBe(afterDelete)
      expect(store.recordGeneration('site-b')).not.toBe(b)
    } finally {
      await store.close()
      dir.remove()
    }
  })

  it("counts rewrites of a site's past in the file, for any later process (recordIdentity)", async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    let store = new SqliteStore({ file })
    try {
      expect(store.recordIdentity('site-a')).toBeNull()
      const event = enrichedEvent({ site_id: 'site-a', timestamp: Date.now() })
      await acceptAndRollUp(store, [event], [], {
        sessionTimeoutMs: 1_800_000,
        newSessionId: () => 's1',
      })
      expect(store.recordIdentity('site-a')).toEqual({ rewrites: 0, nextOrd: 1 })
      await store.deleteUserData('site-a', 'alice')
      expect(store.recordIdentity('site-a')).toMatchObject({ rewrites: 1 })
      await store.beginBulkLoad()
      await store.endBulkLoad()
      await store.close()
      store = new SqliteStore({ file })
      expect(store.recordIdentity('site-a')).toMatchObject({ rewrites: 3 })
    } finally {
      await store.close()
      dir.remove()
    }
  })
})
