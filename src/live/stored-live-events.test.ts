import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import type { LiveEvent, RecentEvents } from '../storage/store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { ACTIVE_SESSION_MS } from './live-window.ts'
import { FULL_READ_EVERY_MS, OVERLAP_MS, StoredLiveEvents } from './stored-live-events.ts'

/**
 * The live view on a host of many instances reads the store, not a window of its own: each
 * poll asks only for what is new since the last (with an overlap) and shows what a whole read
 * would show, over a real SQLite file. The reads are counted by a pass-through of the store.
 */
const site = makeSite()
const T0 = Date.UTC(2026, 0, 15, 10)
const SEC = 1000

describe('live events read from the store, incrementally', () => {
  let store: SqliteStore
  let dir: ReturnType<typeof tempDir>
  let returned: number[]
  let counting: RecentEvents
  beforeEach(async () => {
    dir = tempDir()
    store = new SqliteStore({ file: join(dir.path, 'live.db') })
    await store.createSite(site)
    returned = []
    counting = {
      liveEventsSince: async (siteId, since, limit) => {
        const events = await store.liveEventsSince(siteId, since, limit)
        returned.push(events.length)
        return events
      },
    }
  })
  afterEach(async () => {
    await store.close()
    dir.remove()
  })

  let n = 0
  const arrive = (timestamp: number, session = `s-${n}`) =>
    store.accept(
      [enrichedEvent({ event_id: `e-${++n}`, timestamp, client_session_id: session })],
      [],
    )
  const ids = (events: LiveEvent[]) => events.map((e) => `${e.session_id}@${e.timestamp}`)
  /** What one whole read of the window shows now. */
  const whole = async (now: number) =>
    ids(await store.liveEventsSince(site.id, now - ACTIVE_SESSION_MS, 50_000))

  it('shows what a whole read shows, reading only the new events after the first poll', async () => {
    for (let i = 0; i < 20; i++) await arrive(T0 + i * SEC)
    const live = new StoredLiveEvents(counting)
    let now = T0 + 30 * SEC
    const first = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(first.events)).toEqual(await whole(now))
    expect(first.whole).toBe(true)

    // Three seconds later two visits arrive; the poll reads back to the overlap only.
    await arrive(now + SEC)
    await arrive(now + 2 * SEC)
    now += 3 * SEC
    const second = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(second.events)).toEqual(await whole(now))
    expect(ids(second.events)).toHaveLength(22)
    // The first poll read all 20; the second only what the overlap holds, not the window.
    expect(returned.slice(0, 2)).toEqual([20, 22])

    // Later, with more history than the overlap: a poll reads the last minute only.
    for (let i = 0; i < 100; i++) await arrive(now + 10 * SEC + i * SEC)
    now += 200 * SEC
    await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    now += 3 * SEC
    await arrive(now - SEC)
    const later = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(later.events)).toEqual(await whole(now))
    expect(returned.at(-1)).toBeLessThan(later.events.length)
  })

  it('finds an event stored late within the overlap at once, and one later than that at the next whole read', async () => {
    await arrive(T0)
    const live = new StoredLiveEvents(counting)
    let now = T0 + 10 * SEC
    await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    // Stored after that poll, but happened before it: within the overlap, it shows.
    await arrive(now - OVERLAP_MS / 2, 'retried')
    now += 3 * SEC
    expect(ids((await live.since(site.id, now - ACTIVE_SESSION_MS, now)).events)).toEqual(
      await whole(now),
    )
    // Happened long before the last poll (a client that was offline): missed until the
    // window is read whole again.
    const offline = now - 5 * OVERLAP_MS
    await arrive(offline, 'offline')
    now += 3 * SEC
    const missed = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(missed.events)).not.toContain(`offline@${offline}`)
    now = T0 + 10 * SEC + FULL_READ_EVERY_MS
    const reread = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(reread.events)).toEqual(await whole(now))
    expect(ids(reread.events)).toContain(`offline@${offline}`)
  })

  it('lets events leave the half hour, and reads whole again when the clock goes back', async () => {
    await arrive(T0)
    await arrive(T0 + 20 * 60 * SEC)
    const live = new StoredLiveEvents(counting)
    let now = T0 + 25 * 60 * SEC
    expect((await live.since(site.id, now - ACTIVE_SESSION_MS, now)).events).toHaveLength(2)
    now = T0 + 31 * 60 * SEC
    const moved = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(moved.events)).toEqual(await whole(now))
    expect(moved.events).toHaveLength(1)
    now = T0 + 24 * 60 * SEC
    const back = await live.since(site.id, now - ACTIVE_SESSION_MS, now)
    expect(ids(back.events)).toEqual(await whole(now))
    expect(back.events).toHaveLength(2)
  })
})
