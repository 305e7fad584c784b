import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import type { PackedBatch } from '../storage/sqlite/packed-item.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import type { Handover, Store } from '../storage/store.ts'
import { makeSite } from '../testing/fixtures.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { AcceptStage, newEvents } from './accept-stage.ts'

const dir = tempDir()
afterEach(() => dir.remove())

const AT = Date.UTC(2026, 0, 15, 10)
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const site = makeSite()

const page = (id: string, timestamp = AT, path = '/pricing') => ({
  type: 'page_view',
  url: `https://example.com${path}`,
  event_id: id,
  timestamp,
})

/** One POST /api/events as the HTTP side hands it on. */
function request(body: unknown, userAgent = CHROME) {
  return {
    site,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    request: { ip: '203.0.113.9', userAgent, country: 'DE' },
    receivedAt: AT,
  }
}

function storedIds(file: string): string[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT event_id FROM events ORDER BY event_id').pluck().all() as string[]
  } finally {
    db.close()
  }
}

/** A stage over a fresh store, and how many items each commit handed over. */
function open(wrap: (store: Store) => Store = (store) => store) {
  const file = join(dir.path, 'x.db')
  const store = new SqliteStore({ file })
  const handed: number[] = []
  const stage = new AcceptStage(wrap(store), {
    logger: createLogger('silent'),
    // The SQLite store's hand-over is its packed queue row (storage/sqlite/packed-item.ts).
    handOver: (handover: Handover) => handed.push((handover as unknown as PackedBatch).count),
  })
  return { file, store, handed, stage }
}

describe('accept stage: group commit', () => {
  it('commits the requests of one turn together and answers each with its own events', async () => {
    const { file, store, handed, stage } = open()
    const outcomes = await stage.accept([
      request([page('a')]),
      request([page('b', AT + 1)]),
      // Repeats "a" from the first request: stored once, in the same commit.
      request([page('a'), page('c', AT + 2)]),
      request([page('crawl')], 'Googlebot/2.1 (+http://www.google.com/bot.html)'),
    ])
    expect(outcomes).toEqual([
      { result: { accepted: 1, duplicates: 0, bots: 0, rejected: [] } },
      { result: { accepted: 1, duplicates: 0, bots: 0, rejected: [] } },
      { result: { accepted: 2, duplicates: 1, bots: 0, rejected: [] } },
      { result: { accepted: 1, duplicates: 0, bots: 1, rejected: [] } },
    ])
    // One commit, so one hand-over, with every new item; the roll-up gets them in order.
    expect(handed).toEqual([4])
    const pending = await store.pending(10)
    expect(pending.map((e) => (e.item.kind === 'event' ? e.item.event.event_id : 'bot'))).toEqual([
      'a',
      'b',
      'c',
      'bot',
    ])
    expect(storedIds(file)).toEqual(['a', 'b', 'c'])
    await store.close()
  })

  it('fails a request whose events cannot be stored alone, and stores its neighbours', async () => {
    // A store that refuses any commit holding the event "broken", however often it is tried.
    const { file, store, stage } = open((real) => {
      const refusing = Object.create(real) as Store
      refusing.accept = (events, bots) =>
        events.some((e) => e.event_id === 'broken')
          ? Promise.reject(new Error('cannot store "broken"'))
          : real.accept(events, bots)
      return refusing
    })
    const outcomes = await stage.accept([
      request([page('before')]),
      request([page('broken', AT + 1)]),
      request([page('after', AT + 2)]),
    ])
    expect(outcomes[0]).toMatchObject({ result: { accepted: 1 } })
    expect(outcomes[1]).toEqual({ error: 'cannot store "broken"' })
    expect(outcomes[2]).toMatchObject({ result: { accepted: 1 } })
    expect(storedIds(file)).toEqual(['after', 'before'])
    await store.close()
  })

  it('commits what arrived in one turn together, and later arrivals in the next', async () => {
    const { store, handed, stage } = open()
    await stage.accept([request([page('first')])])
    // Three calls of one later turn go together into a second commit.
    const later = ['x', 'y', 'z'].map((id, i) => stage.accept([request([page(id, AT + 1 + i)])]))
    await Promise.all(later)
    await stage.drain()
    expect(handed).toEqual([1, 3])
    await store.close()
  })
})

describe('accept stage: one request from its body text', () => {
  it('stores the valid events, lists the rest, and shows only new ones live', async () => {
    const { file, store, stage } = open()
    await stage.accept([request({ events: [page('a')] })])

    const [outcome] = await stage.accept([
      request({
        events: [page('a'), { type: 'page_view', url: '/relative' }, page('b', AT + 1000, '/b')],
      }),
    ])
    if (!outcome || !('result' in outcome)) throw new Error(`no result: ${String(outcome)}`)
    expect(outcome.result).toEqual({
      accepted: 2,
      duplicates: 1,
      bots: 0,
      rejected: [{ index: 1, message: expect.stringMatching(/url/) }],
    })
    expect(newEvents(outcome.result)).toBe(1)
    const live = await stage.snapshot(site.id, AT + 2000)
    expect(live.recent_events.map((e) => [e.page_url, e.event_type])).toEqual([
      ['/b', 'page_view'],
      ['/pricing', 'page_view'],
    ])
    expect(storedIds(file)).toEqual(['a', 'b'])
    await store.close()
  })

  it('refuses a body as a whole, and counts a bot without storing or showing it', async () => {
    const { file, store, stage } = open()
    const one = async (body: unknown, userAgent?: string) =>
      (await stage.accept([request(body, userAgent)]))[0]

    expect(await one('{"events": [')).toEqual({ invalid: 'body is not valid JSON' })
    expect(await one({ events: {} })).toEqual({ invalid: 'events must be an array' })
    expect(await one([])).toEqual({ invalid: 'events must hold at least 1 event' })
    const many = Array.from({ length: 101 }, (_, i) => page(`p${i}`))
    expect(await one(many)).toEqual({ invalid: 'events must hold at most 100 events' })

    const bot = await one([page('crawl')], 'Googlebot/2.1 (+http://www.google.com/bot.html)')
    expect(bot).toEqual({ result: { accepted: 1, duplicates: 0, bots: 1, rejected: [] } })
    expect(storedIds(file)).toEqual([])
    expect((await stage.snapshot(site.id, AT)).recent_events).toEqual([])
    await store.close()
  })

  it("starts a site's live window from its stored events of the last half hour", async () => {
    const { file, store, stage } = open()
    await stage.accept([request([page('earlier', AT - 10 * 60_000, '/earlier')])])
    await stage.drain()
    // A restarted stage (a new process, the same file) sees what the first one stored.
    const reopened = new SqliteStore({ file })
    const again = new AcceptStage(reopened, { logger: createLogger('silent') })
    const live = await again.snapshot(site.id, AT)
    expect(live.recent_events.map((e) => e.page_url)).toEqual(['/earlier'])
    expect(live.active_sessions).toBe(1)
    await reopened.close()
    await store.close()
  })
})
