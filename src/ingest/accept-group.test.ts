import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../core/types.ts'
import { unpackBatch } from '../storage/packed-item.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import type { LiveEvent, QueuedEntry } from '../storage/store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { acceptGroup, acceptRequest, newEvents } from './accept-group.ts'
import { RequestPreparer } from './prepare-request.ts'
import { SaltCache } from './salt-cache.ts'

const dir = tempDir()
afterEach(() => dir.remove())

const AT = Date.UTC(2026, 0, 15, 10)

function request(...events: EnrichedEvent[]) {
  return { events, bots: [] }
}

function storedIds(file: string): string[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare('SELECT event_id FROM events ORDER BY event_id').pluck().all() as string[]
  } finally {
    db.close()
  }
}

/**
 * A group over a fresh store, and what it hands over, commit by commit: the entries of the
 * packed text the roll-up thread would get (the queue row's own text).
 */
function open() {
  const file = join(dir.path, 'x.db')
  const store = new SqliteStore({ file })
  const handed: QueuedEntry[][] = []
  const group = acceptGroup(store, ({ packed }) => handed.push(packed ? unpackBatch(packed) : []))
  return { file, store, handed, group }
}

describe('accept thread group commit', () => {
  it('commits the requests of one turn together and answers each with its own events', async () => {
    const { file, store, handed, group } = open()
    const bot = { site_id: 'site-a', timezone: 'UTC', timestamp: AT }

    const answers = await Promise.all([
      group.submit([request(enrichedEvent({ event_id: 'a', timestamp: AT }))]),
      group.submit([
        { events: [enrichedEvent({ event_id: 'b', timestamp: AT + 1 })], bots: [bot] },
      ]),
      // Repeats "a" from the first request: stored once, in the same commit.
      group.submit([
        request(
          enrichedEvent({ event_id: 'a', timestamp: AT }),
          enrichedEvent({ event_id: 'c', timestamp: AT + 2 }),
        ),
      ]),
    ])

    expect(answers).toEqual([[[true]], [[true]], [[false, true]]])
    // One commit, so one hand-over, with every new item in seq order.
    expect(handed).toHaveLength(1)
    const items = handed[0] ?? []
    expect(items.map((e) => e.item.kind)).toEqual(['event', 'event', 'event', 'bot'])
    expect(items.map((e) => e.seq)).toEqual(items.map((_, i) => (items[0]?.seq ?? 0) + i))
    expect(storedIds(file)).toEqual(['a', 'b', 'c'])
    await store.close()
  })

  it('fails a request whose events cannot be stored alone, and stores its neighbours', async () => {
    const { file, store, handed, group } = open()
    // SQLite cannot bind an object: this request's commit fails however often it is retried.
    const broken = enrichedEvent({ event_id: 'broken', title: {} as unknown as string })

    const outcomes = await Promise.allSettled([
      group.submit([request(enrichedEvent({ event_id: 'before', timestamp: AT }))]),
      group.submit([request(broken)]),
      group.submit([request(enrichedEvent({ event_id: 'after', timestamp: AT + 1 }))]),
    ])

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error)
    expect(storedIds(file)).toEqual(['after', 'before'])
    expect(handed.flat().map((e) => e.item.kind === 'event' && e.item.event.event_id)).toEqual([
      'before',
      'after',
    ])
    await store.close()
  })

  it('commits what was submitted in one turn together, and later submissions in the next', async () => {
    const { store, handed, group } = open()

    const first = group.submit([request(enrichedEvent({ event_id: 'first', timestamp: AT }))])
    // The next turn: the first commit has run; these three go together into a second one.
    await new Promise((resolve) => setImmediate(resolve))
    const later = ['x', 'y', 'z'].map((id, i) =>
      group.submit([request(enrichedEvent({ event_id: id, timestamp: AT + 1 + i }))]),
    )
    await Promise.all([first, ...later])
    await group.drain()

    expect(handed.map((queued) => queued.length)).toEqual([1, 3])
    await store.close()
  })
})

describe('accepting one request from its body text', () => {
  const CHROME =
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
  const page = (id: string, timestamp = AT) => ({
    type: 'page_view',
    url: 'https://example.com/pricing',
    event_id: id,
    timestamp,
  })
  const ingest = (body: unknown, userAgent = CHROME) => ({
    site: makeSite(),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    request: { ip: '203.0.113.9', userAgent, country: 'DE' },
    receivedAt: AT,
  })

  function openAcceptor() {
    const opened = open()
    const preparer = new RequestPreparer(new SaltCache(opened.store))
    // What the live window is fed, call by call.
    const fed: LiveEvent[][] = []
    const live = { add: (events: readonly LiveEvent[]) => void fed.push([...events]) }
    return {
      ...opened,
      fed,
      accept: (body: unknown, userAgent?: string) =>
        acceptRequest(ingest(body, userAgent), preparer, opened.group, live),
    }
  }

  it('stores the valid events, lists the rest, and gives the live view only new ones', async () => {
    const { file, store, accept, fed } = openAcceptor()
    await accept({ events: [page('a')] })
    fed.length = 0

    const outcome = await accept({
      events: [page('a'), { type: 'page_view', url: '/relative' }, page('b', AT + 1000)],
    })

    if (!('result' in outcome)) throw new Error(`expected a result: ${JSON.stringify(outcome)}`)
    expect(outcome.result).toEqual({
      accepted: 2,
      duplicates: 1,
      bots: 0,
      rejected: [{ index: 1, message: expect.stringMatching(/url/) }],
    })
    expect(newEvents(outcome.result)).toBe(1)
    expect(
      fed.map((events) => events.map((e) => [e.site_id, e.path, e.timestamp, e.browser])),
    ).toEqual([[['site-a', '/pricing', AT + 1000, 'Chrome']]])
    expect(storedIds(file)).toEqual(['a', 'b'])
    await store.close()
  })

  it('refuses a body as a whole, and counts a bot without storing or showing it', async () => {
    const { file, store, accept, fed } = openAcceptor()

    expect(await accept('{"events": [')).toEqual({ invalid: 'body is not valid JSON' })
    expect(await accept({ events: {} })).toEqual({ invalid: 'events must be an array' })
    expect(await accept([])).toEqual({ invalid: 'events must hold at least 1 event' })
    const many = Array.from({ length: 101 }, (_, i) => page(`p${i}`))
    expect(await accept(many)).toEqual({ invalid: 'events must hold at most 100 events' })

    const bot = await accept([page('crawl')], 'Googlebot/2.1 (+http://www.google.com/bot.html)')
    expect(bot).toEqual({ result: { accepted: 1, duplicates: 0, bots: 1, rejected: [] } })
    expect(storedIds(file)).toEqual([])
    expect(fed).toEqual([])
    await store.close()
  })
})
