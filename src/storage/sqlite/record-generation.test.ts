import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
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
})
