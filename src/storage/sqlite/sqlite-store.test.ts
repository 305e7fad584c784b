import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { zeroCounters } from '../../core/rollup-deltas.ts'
import { describeHistoryImportContract } from '../../ingest/history-import.contract.ts'
import { HistoryImport } from '../../ingest/history-import.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { describeStoreContract } from '../store.contract.ts'
import { markHash } from './mark-hash.ts'
import { MIGRATIONS } from './migrations.ts'
import { eventRowValues, INSERT_EVENT_SQL } from './queued-event.ts'
import { SqliteStore } from './sqlite-store.ts'

async function freshSqliteStore() {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'test.db') })
  return {
    store,
    cleanup: async () => {
      await store.close()
      dir.remove()
    },
  }
}

async function threadedSqliteStore() {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'test.db'), writeThread: true })
  return {
    store,
    cleanup: async () => {
      await store.close()
      dir.remove()
    },
  }
}

describeStoreContract('sqlite', freshSqliteStore)
describeHistoryImportContract('sqlite', freshSqliteStore)
// The same numbers when unit writes run on a thread of their own, as an import runs them.
describeStoreContract('sqlite, writes on a thread', threadedSqliteStore)
describeHistoryImportContract('sqlite, writes on a thread', threadedSqliteStore)

const zero = zeroCounters()

/** History of ten days ago, imported with a write at every hour (see HistoryImport). */
const IMPORT_NOW = Date.UTC(2026, 0, 20)
const IMPORT_FROM = IMPORT_NOW - 10 * 86_400_000
function hourlyImport(store: SqliteStore): HistoryImport {
  let ids = 0
  return new HistoryImport(store, {
    sessionTimeoutMs: 30 * 60_000,
    newSessionId: () => `s${++ids}`,
    eventTtlMs: 86_400_000,
    now: IMPORT_NOW,
    flushEvents: 1,
  })
}
/** The sessions' lookup indexes as sqlite_master holds them, read over a connection of its own. */
function sessionIndexes(file: string) {
  const db = new Database(file, { readonly: true })
  const rows = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions' AND sql IS NOT NULL ORDER BY name",
    )
    .all() as Array<{ name: string; sql: string }>
  db.close()
  return rows
}
const importedEvent = (hours: number, id: string, client: string) =>
  enrichedEvent({
    event_id: id,
    client_session_id: client,
    timestamp: IMPORT_FROM + hours * 3_600_000,
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

  it('upgrades a v7 queue in place, and new seqs go past every old one', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'v7.db')
    const old = new Database(file)
    for (const sql of MIGRATIONS.slice(0, 7)) old.exec(sql)
    old.pragma('user_version = 7')
    const bot = JSON.stringify({
      kind: 'bot',
      hit: { site_id: 's', timezone: 'UTC', timestamp: 1 },
    })
    old.prepare('INSERT INTO ingest_queue (seq, payload) VALUES (?, ?)').run(3, bot)
    // A v7 event entry: the key of its row in events plus the fields that row lacks.
    const event = enrichedEvent({ event_id: 'queued-before', props: { plan: 'pro' } })
    old.prepare(INSERT_EVENT_SQL).run(...eventRowValues(event))
    const { timezone, host, channel, utm_source, utm_medium, utm_campaign, os } = event
    old
      .prepare(
        'INSERT INTO ingest_queue (seq, site_id, timestamp, event_id, extra) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        5,
        event.site_id,
        event.timestamp,
        event.event_id,
        JSON.stringify({ timezone, host, channel, utm_source, utm_medium, utm_campaign, os }),
      )
    old
      .prepare(
        'INSERT INTO ingest_dead_letter (seq, payload, reason, failed_at) VALUES (?, ?, ?, ?)',
      )
      .run(9, bot, 'failed', 1)
    old.close()
    const store = new SqliteStore({ file })
    const queued = await store.ingest((unit) => unit.queued(10))
    expect(queued.map((q) => [q.seq, q.item.kind])).toEqual([
      [3, 'bot'],
      [5, 'event'],
    ])
    expect(queued[1]?.item).toEqual({ kind: 'event', event })
    expect(await store.queueLength()).toBe(2)
    const { queued: added } = await store.accept([enrichedEvent({ event_id: 'next' })], [])
    // Not 4: seq 9 names a dead letter already.
    expect(added.map((q) => q.seq)).toEqual([10])
    await store.close()
    dir.remove()
  })

  it('reads queue rows written before items were packed, joined with their event rows', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'keyed.db')
    await new SqliteStore({ file }).close()
    // As the accept wrote a batch until items were packed: an event's key and the fields its
    // row lacks, and a bot hit as an object.
    const event = enrichedEvent({ event_id: 'keyed', props: { plan: 'pro' } })
    const hit = { site_id: 's', timezone: 'UTC', timestamp: 1 }
    const { timezone, host, channel, utm_source, utm_medium, utm_campaign, os } = event
    const extra = [timezone, host, channel, utm_source, utm_medium, utm_campaign, os]
    const items = [
      ['e', event.site_id, event.timestamp, event.event_id, ...extra],
      ['b', hit],
    ]
    const db = new Database(file)
    db.prepare(INSERT_EVENT_SQL).run(...eventRowValues(event))
    db.prepare(
      'INSERT INTO ingest_batch (first_seq, item_count, oldest, items) VALUES (?, ?, ?, ?)',
    ).run(1, 2, event.timestamp, JSON.stringify(items))
    db.prepare('UPDATE ingest_cursor SET next_seq = 3').run()
    db.close()

    const store = new SqliteStore({ file })
    const queued = await store.ingest((unit) => unit.queued(10))
    expect(queued).toEqual([
      { seq: 1, item: { kind: 'event', event } },
      { seq: 2, item: { kind: 'bot', hit } },
    ])
    // Next to them, new batches are packed, and the queue reads both kinds in seq order.
    const next = enrichedEvent({ event_id: 'packed', timestamp: event.timestamp + 1 })
    const { packed } = await store.accept([next], [])
    expect(packed?.first).toBe(3)
    const read = await store.ingest((unit) => unit.queued(10))
    expect(read.map((q) => q.seq)).toEqual([1, 2, 3])
    expect(read[2]?.item).toMatchObject({ kind: 'event', event: { event_id: 'packed' } })
    expect(read[2]?.item).not.toHaveProperty('event.page_url')
    await store.close()
    dir.remove()
  })

  it('drops the lookup indexes for a bulk load and builds them as they were', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'bulk.db')
    const indexes = () => sessionIndexes(file)
    const store = new SqliteStore({ file })
    const asMigrated = indexes()
    expect(asMigrated.map((r) => r.name)).toEqual(['sessions_by_client', 'sessions_by_user'])
    await store.beginBulkLoad()
    expect(indexes()).toEqual([])
    await store.endBulkLoad()
    expect(indexes()).toEqual(asMigrated)
    // A lookup during the load builds them first rather than scanning every session.
    await store.beginBulkLoad()
    await store.findSession('s', 'c', 0)
    expect(indexes()).toEqual(asMigrated)
    // A load that never ended (a crash): the next open repairs it.
    await store.beginBulkLoad()
    const reopened = new SqliteStore({ file })
    expect(indexes()).toEqual(asMigrated)
    await reopened.close()
    await store.close()
    dir.remove()
  })

  it('has a history import drop the lookup indexes from its first write to its end', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'import.db')
    const store = new SqliteStore({ file })
    const lookupIndexes = () => sessionIndexes(file).length
    const start = () => hourlyImport(store)
    const at = (hours: number, id: string) => importedEvent(hours, id, id)
    const history = start()
    await history.add([at(0, 'a'), at(1, 'b')])
    expect(lookupIndexes()).toBe(0)
    await history.add([at(2, 'c')])
    await history.finish()
    expect(lookupIndexes()).toBe(2)
    // An import that stops on an error gives them back too.
    const stopped = start()
    await stopped.add([at(3, 'd'), at(4, 'e')])
    expect(lookupIndexes()).toBe(0)
    await expect(stopped.add([at(0, 'early')])).rejects.toThrow(/time order/)
    expect(lookupIndexes()).toBe(2)
    await store.close()
    dir.remove()
  })

  it('stops writing after a write on its thread fails, and the import says so', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'poisoned.db')
    const store = new SqliteStore({ file, writeThread: true })
    const db = new Database(file)
    // A real SQLite failure on the write thread's connection, for one session only.
    db.exec(`CREATE TRIGGER poison BEFORE INSERT ON sessions WHEN NEW.client_session_id = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned session'); END`)
    db.close()
    const at = (hours: number, client: string) => importedEvent(hours, `e${hours}`, client)
    const history = hourlyImport(store)
    // Hour 1's write fails while hour 2 is computed; it is found when hour 3 starts.
    await expect(
      history.add([at(0, 'a'), at(1, 'poison'), at(2, 'c'), at(3, 'd')]),
    ).rejects.toThrow(/poisoned session/)
    await expect(history.finish()).rejects.toThrow(/the import stopped .*poisoned session/)
    const hours = await store.readRollups({
      grain: 'hour',
      site_id: 'site-a',
      dim: '',
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
    })
    // Only the hour committed before the failure; nothing written after it.
    expect(hours.map((row) => row.bucket)).toEqual([hourBucket(IMPORT_FROM)])
    await expect(store.ingest(async () => 'more')).rejects.toThrow(/poisoned session/)
    await store.close()
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

  it('remembers claimed visitor marks across a restart, packed and pre-v5 rows alike', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    const mark = (visitor_id: string) => ({
      site_id: 's',
      day: '2026-01-01',
      scope: '',
      visitor_id,
    })
    const store = new SqliteStore({ file })
    await store.ingest(async (unit) => {
      expect(await unit.claimMarks([mark('a'), mark('b')])).toEqual([true, true])
      await unit.write({ sessions: [], deltas: [], processedThrough: 0 })
    })
    await store.close()
    // A mark logged one per row, as before v5.
    const db = new Database(file)
    db.prepare('INSERT INTO visitor_mark_log (day, mark) VALUES (?, ?)').run(
      '2026-01-01',
      markHash('s', '', 'old'),
    )
    db.close()
    const again = new SqliteStore({ file })
    const claimed = await again.ingest((unit) =>
      unit.claimMarks([mark('a'), mark('old'), mark('b'), mark('new')]),
    )
    expect(claimed).toEqual([false, false, false, true])
    await again.close()
    dir.remove()
  })

  it('unloads old days of marks and reads them back when touched again', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    const mark = (day: string, visitor_id: string) => ({ site_id: 's', day, scope: '', visitor_id })
    // Ten days, one unit each, as a history import moves through a month.
    const days = Array.from({ length: 10 }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`)
    for (const day of days) {
      await store.ingest(async (unit) => {
        expect(await unit.claimMarks([mark(day, 'a')])).toEqual([true])
        await unit.write({ sessions: [], deltas: [] })
      })
    }
    // Written to the log behind the store's back: seen only if day 1 is read back from it.
    const db = new Database(join(dir.path, 'x.db'))
    db.prepare('INSERT INTO visitor_mark_log (day, mark) VALUES (?, ?)').run(
      '2026-01-01',
      markHash('s', '', 'c'),
    )
    db.close()
    // The first days were unloaded on the way; their marks still count as claimed.
    const again = await store.ingest((unit) =>
      unit.claimMarks([
        mark('2026-01-01', 'a'),
        mark('2026-01-01', 'b'),
        mark('2026-01-01', 'c'),
        mark('2026-01-10', 'a'),
      ]),
    )
    expect(again).toEqual([false, true, false, false])
    await store.close()
    dir.remove()
  })

  it('holds the write lock only while a roll-up writes, so accepts go on while it computes', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    const rollup = new SqliteStore({ file })
    const acceptor = new SqliteStore({ file })
    await rollup.ingest(async (unit) => {
      await unit.queued(10)
      // Another connection commits meanwhile; it would wait for the lock (and time out) if
      // the unit had taken it at the start.
      expect((await acceptor.accept([enrichedEvent({ event_id: 'during' })], [])).fresh).toEqual([
        true,
      ])
      await unit.write({ sessions: [], deltas: [], processedThrough: 0 })
    })
    expect(await rollup.queueLength()).toBe(1)
    await acceptor.close()
    await rollup.close()
    dir.remove()
  })

  it('sweeps expired events once rolled up, in short transactions, all of them', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    await store.createSite({
      id: 'site-a',
      name: 'A',
      domain: 'a.example',
      timezone: 'UTC',
      api_key: 'key-a-0123456789abcdef',
      created_at: 0,
    })
    const T = Date.UTC(2026, 0, 15)
    const old = Array.from({ length: 12_345 }, (_, i) =>
      enrichedEvent({ event_id: `old-${i}`, timestamp: T + i }),
    )
    await store.accept(
      [...old, enrichedEvent({ event_id: 'fresh', timestamp: T + 86_400_000 })],
      [],
    )
    const sweep = () => store.sweep({ now: T + 86_400_000, eventTtlMs: 3_600_000 })
    // Queued events wait for the roll-up (the queue holds only their key): none goes yet.
    expect((await sweep()).events).toBe(0)
    await store.ingest(async (unit) => {
      const queued = await unit.queued(20_000)
      await unit.write({ sessions: [], deltas: [], processedThrough: queued.at(-1)?.seq ?? 0 })
    })
    expect((await sweep()).events).toBe(12_345)
    const db = new Database(join(dir.path, 'x.db'), { readonly: true })
    expect(db.prepare('SELECT event_id FROM events').pluck().all()).toEqual(['fresh'])
    db.close()
    await store.close()
    dir.remove()
  })

  it('keeps hour ranges exact after the sweep drops old hourly rows and their spans', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    const H0 = 500_000 // an epoch hour, a multiple of 16
    const hours = 100
    for (let h = 0; h < hours; h++) {
      await store.ingest((unit) =>
        unit.write({
          sessions: [],
          deltas: [
            {
              key: { grain: 'hour', site_id: 's', bucket: H0 + h, dim: 'page', value: '/p' },
              counters: { ...zero, pageviews: h + 1 },
            },
            {
              key: { grain: 'hour', site_id: 's', bucket: H0 + h, dim: '', value: '' },
              counters: { ...zero, pageviews: h + 1 },
            },
          ],
          processedThrough: 0,
        }),
      )
    }
    await store.createSite({
      id: 's',
      name: 'S',
      domain: 's.example',
      timezone: 'UTC',
      api_key: 'key-s-0123456789abcdef',
      created_at: 0,
    })
    // 72 hours are kept: rows (and spans) before hour 28 go.
    await store.sweep({ now: (H0 + hours) * 3_600_000, eventTtlMs: 3_600_000 })
    const sum = (from: number, to: number) => {
      let total = 0
      for (let h = Math.max(from, 28); h <= to; h++) total += h + 1
      return total
    }
    for (const [from, to] of [
      [28, 99],
      [30, 53],
      [20, 60],
      [76, 98],
    ] as const) {
      const [row] = await store.topValues({
        grain: 'hour',
        site_id: 's',
        dim: 'page',
        from: H0 + from,
        to: H0 + to,
        orderBy: 'pageviews',
        limit: 5,
      })
      expect(row?.pageviews, `hours ${from}..${to}`).toBe(sum(from, to))
    }
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
