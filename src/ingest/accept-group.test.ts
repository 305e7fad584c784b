import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { enrichedEvent } from '../../test/support/enriched-event.ts'
import { tempDir } from '../../test/support/temp-dir.ts'
import type { EnrichedEvent } from '../core/types.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import type { QueuedEntry } from '../storage/store.ts'
import { acceptGroup } from './accept-group.ts'

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

/** A group over a fresh store, and what it hands over, commit by commit. */
function open() {
  const file = join(dir.path, 'x.db')
  const store = new SqliteStore({ file })
  const handed: QueuedEntry[][] = []
  return { file, store, handed, group: acceptGroup(store, (queued) => handed.push(queued)) }
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
