import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { StorageUnavailableError, type Store } from '../storage/store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { rollupOptions } from './rollup-options.ts'
import { RollupStage, type StageClock } from './rollup-stage.ts'

const dir = tempDir()
afterEach(() => dir.remove())

const AT = Date.UTC(2026, 0, 15, 10)
const OPTIONS = rollupOptions(30 * 60_000)
const silent = createLogger('silent')

/** A clock the test steps: timers run only when the test says, and note when they were set. */
function steppedClock() {
  let now = 1_000_000
  const timers: Array<{ at: number; run: () => void }> = []
  const clock: StageClock = {
    now: () => now,
    after(ms, run) {
      const timer = { at: now + ms, run }
      timers.push(timer)
      return () => timers.splice(timers.indexOf(timer), 1)
    },
  }
  return {
    clock,
    timers,
    advance(ms: number) {
      now += ms
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(timer), 1)
        timer.run()
      }
    },
  }
}

describe('roll-up stage', () => {
  it('moves an item it keeps failing on to the dead letters, and counts the rest', async () => {
    const file = join(dir.path, 'x.db')
    const store = new SqliteStore({ file })
    await store.accept(
      [
        enrichedEvent({ event_id: 'good-1', timestamp: AT, client_session_id: 'a' }),
        // An unknown time zone makes the roll-up throw for this item, every time.
        enrichedEvent({ event_id: 'poison', timestamp: AT + 1, timezone: 'Nowhere/Atlantis' }),
        enrichedEvent({ event_id: 'good-2', timestamp: AT + 2, client_session_id: 'b' }),
      ],
      [],
    )
    const stage = new RollupStage(store, OPTIONS, silent)
    // Every run fails on the shared slice until the third, which isolates the bad item.
    for (let run = 0; run < 3; run++) await stage.settle()
    expect(await store.backlog()).toBe(1)
    await stage.settle()
    stage.close()
    expect(await store.backlog()).toBe(0)

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

  it('never moves an item to the dead letters while storage is unavailable', async () => {
    const file = join(dir.path, 'x.db')
    const real = new SqliteStore({ file })
    await real.accept(
      [
        enrichedEvent({ event_id: 'one', timestamp: AT, client_session_id: 'a' }),
        enrichedEvent({ event_id: 'two', timestamp: AT + 1, client_session_id: 'b' }),
      ],
      [],
    )
    // A full disk: every roll-up write fails, while a dead letter (a smaller write) would fit.
    let full = true
    const store = Object.create(real) as Store
    store.rollup = (work) =>
      full ? Promise.reject(new StorageUnavailableError('disk full')) : real.rollup(work)
    const stage = new RollupStage(store, OPTIONS, silent)
    // Twice the failures that isolate an item failing on its own.
    for (let run = 0; run < 6; run++) await stage.settle()
    expect(await real.backlog()).toBe(2)
    full = false
    await stage.settle()
    stage.close()
    expect(await real.backlog()).toBe(0)
    const db = new Database(file, { readonly: true })
    expect(db.prepare('SELECT count(*) FROM ingest_dead_letter').pluck().get()).toBe(0)
    expect(
      db
        .prepare("SELECT sum(pageviews) FROM rollup_day WHERE dim = '' AND site_id = 'site-a'")
        .pluck()
        .get(),
    ).toBe(2)
    db.close()
    await real.close()
  })

  it('settles everything pending, also what memory did not hold', async () => {
    const file = join(dir.path, 'x.db')
    const store = new SqliteStore({ file })
    const first = await store.accept([enrichedEvent({ event_id: 'a', timestamp: AT })], [])
    // Only the first commit's hand-over reaches memory; the second waits in the table alone.
    store.takeHandover(first.handover!)
    await store.accept([enrichedEvent({ event_id: 'b', timestamp: AT + 1 })], [])
    const stage = new RollupStage(store, OPTIONS, silent)
    await stage.settle()
    expect(await store.backlog()).toBe(0)
    stage.close()
    await store.close()
  })

  it('runs again as soon as a run that outlasted the interval ends, if more was accepted', async () => {
    const real = new SqliteStore({ file: join(dir.path, 'x.db') })
    // The first roll-up unit is held until the test releases it.
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered = () => {}
    const firstUnit = new Promise<void>((resolve) => {
      entered = resolve
    })
    let units = 0
    const store = Object.create(real) as Store
    store.rollup = async (work) => {
      const result = await real.rollup(work)
      if (units++ === 0) {
        entered()
        await held
      }
      return result
    }
    const time = steppedClock()
    const stage = new RollupStage(store, OPTIONS, silent, { intervalMs: 300, clock: time.clock })
    await real.accept([enrichedEvent({ event_id: 'first', timestamp: AT })], [])
    stage.poke()
    // Nothing ran yet: the first poke starts a run at once.
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([0])
    time.advance(0)
    await firstUnit
    // Accepted while the first run is busy: no timer yet, a run follows this one.
    await real.accept([enrichedEvent({ event_id: 'second', timestamp: AT + 1 })], [])
    stage.poke()
    expect(time.timers).toEqual([])
    // The run outlasts its interval (counted from its start), so the next one waits no more.
    time.advance(350)
    release()
    await new Promise<void>((resolve) => {
      const check = () => (time.timers.length > 0 ? resolve() : setImmediate(check))
      check()
    })
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([0])
    time.advance(0)
    await stage.settle()
    expect(await real.backlog()).toBe(0)
    stage.close()
    await real.close()
  })

  it('waits out the rest of an interval after a short run', async () => {
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    const time = steppedClock()
    const stage = new RollupStage(store, OPTIONS, silent, { intervalMs: 300, clock: time.clock })
    stage.poke()
    time.advance(0)
    await stage.settle()
    time.advance(100)
    await store.accept([enrichedEvent({ event_id: 'later', timestamp: AT })], [])
    stage.poke()
    // 100 ms after the last start: the next run starts 200 ms from now, not at once.
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([200])
    expect(await store.backlog()).toBe(1)
    stage.close()
    await store.close()
  })
})
