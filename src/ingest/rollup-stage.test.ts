import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { enrichedEvent } from '../../test/support/enriched-event.ts'
import { tempDir } from '../../test/support/temp-dir.ts'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { rollupOptions } from './event-writer.ts'
import { RollupStage } from './rollup-stage.ts'

const dir = tempDir()
afterEach(() => dir.remove())

describe('roll-up stage', () => {
  it('moves an item it keeps failing on to the dead letters, and counts the rest', async () => {
    const file = join(dir.path, 'x.db')
    const store = new SqliteStore({ file })
    const at = Date.UTC(2026, 0, 15, 10)
    await store.accept(
      [
        enrichedEvent({ event_id: 'good-1', timestamp: at, client_session_id: 'a' }),
        // An unknown time zone makes the roll-up throw for this item, every time.
        enrichedEvent({ event_id: 'poison', timestamp: at + 1, timezone: 'Nowhere/Atlantis' }),
        enrichedEvent({ event_id: 'good-2', timestamp: at + 2, client_session_id: 'b' }),
      ],
      [],
    )
    const stage = new RollupStage(store, rollupOptions(30 * 60_000), createLogger('silent'))
    // Every run fails on the shared slice until the third, which isolates the bad item.
    for (let run = 0; run < 3; run++) await stage.settle()
    expect(await store.queueLength()).toBe(1)
    await stage.settle()
    stage.close()
    expect(await store.queueLength()).toBe(0)

    const db = new Database(file, { readonly: true })
    const dead = db.prepare('SELECT payload, reason FROM ingest_dead_letter').all() as Array<{
      payload: string
      reason: string
    }>
    expect(dead).toHaveLength(1)
    expect(JSON.parse(dead[0]?.payload ?? '{}').event.event_id).toBe('poison')
    expect(dead[0]?.reason).toMatch(/time ?zone/i)
    const pageviews = db
      .prepare("SELECT sum(pageviews) FROM rollup_day WHERE dim = '' AND site_id = 'site-a'")
      .pluck()
      .get()
    db.close()
    expect(pageviews).toBe(2)
    await store.close()
  })
})
