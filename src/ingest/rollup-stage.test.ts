import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { tempDir } from '../testing/temp-dir.ts'
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

  it('runs again as soon as a run that outlasted the interval ends, if more was queued', async () => {
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    const at = Date.UTC(2026, 0, 15, 10)
    // The first roll-up unit is held for longer than the interval before it finishes.
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered = () => {}
    const firstDone = new Promise<void>((resolve) => {
      entered = resolve
    })
    const ingest = store.ingest.bind(store)
    let units = 0
    store.ingest = async (work) => {
      const result = await ingest(work)
      if (units++ === 0) {
        entered()
        await held
      }
      return result
    }
    const stage = new RollupStage(store, rollupOptions(30 * 60_000), createLogger('silent'), {
      intervalMs: 300,
    })
    await store.accept([enrichedEvent({ event_id: 'first', timestamp: at })], [])
    stage.poke()
    await firstDone
    const firstRunAt = Date.now()
    // Queued while the first run is busy.
    await store.accept([enrichedEvent({ event_id: 'second', timestamp: at + 1 })], [])
    stage.poke()
    expect(await store.queueLength()).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 350 - (Date.now() - firstRunAt)))
    release()
    // More than an interval has passed since the first run started: no further wait.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(await store.queueLength()).toBe(0)
    stage.close()
    await store.close()
  })
})
