import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { markHash, packMarks } from '../../core/mark-hash.ts'
import { zeroCounters } from '../../core/rollup-deltas.ts'
import { HistoryImport } from '../../import/history-import.ts'
import { describeHistoryImportContract } from '../../testing/contract/history-import.contract.ts'
import {
  describeStoreContract,
  type OpenStore,
  type StoreHarness,
} from '../../testing/contract/store.contract.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { fullDatabase } from '../../testing/full-database.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { type RollupEntry, StorageUnavailableError } from '../store.ts'
import { SCHEMA_VERSION } from './migrations.ts'
import { RECORD_SQL } from './record-reads.ts'
import { SqliteStore } from './sqlite-store.ts'

/** The page limit of a store whose disk a contract test fills: 4 MiB. */
const FAULT_PAGES = 1024

/** A fresh store over a temp file, for the contract suites. */
function sqliteHarness(options: { commitThread?: boolean; memoryMarks?: number } = {}): OpenStore {
  return async (contract = {}) => {
    const dir = tempDir()
    const file = join(dir.path, 'test.db')
    // The contract's half-way write: fails once, before the counters, inside the transaction.
    let fault = false
    const { storageFaults, ...storeOptions } = contract
    const open = () =>
      new SqliteStore({
        file,
        ...options,
        ...storeOptions,
        ...(storageFaults ? { maxPageCount: FAULT_PAGES } : {}),
        rollupWriteFault: () => (fault ? ((fault = false), 'counters') : undefined),
      })
    const disk = storageFaults ? fullDatabase(file, FAULT_PAGES) : undefined
    const harness: StoreHarness = {
      store: open(),
      failNextRollupWriteHalfway: () => {
        fault = true
      },
      cleanup: async () => {
        await harness.store.close()
        disk?.close()
        dir.remove()
      },
    }
    if (disk) {
      harness.storageFault = {
        start: async () => disk.start(),
        stop: async () => disk.stop(),
      }
    }
    if (options.commitThread) {
      // A failed write on the thread stops the store (an import stops; its rerun resumes).
      harness.reopenAfterFailure = async () => {
        await harness.store.close().catch(() => undefined)
        harness.store = open()
      }
    }
    return harness
  }
}
const freshSqliteStore = sqliteHarness()
const threadedSqliteStore = sqliteHarness({ commitThread: true })

describeStoreContract('sqlite', freshSqliteStore)
describeHistoryImportContract('sqlite', freshSqliteStore)
// The same numbers when unit writes run on a thread of their own, as an import runs them.
describeStoreContract('sqlite, writes on a thread', threadedSqliteStore)
describeHistoryImportContract('sqlite, writes on a thread', threadedSqliteStore)
// And when visitor marks outgrow memory at once, so every day's marks live in the table.
const marksInTable = sqliteHarness({ memoryMarks: 1 })
describeStoreContract('sqlite, visitor marks in the table', marksInTable)
describeHistoryImportContract('sqlite, visitor marks in the table', marksInTable)

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
      // sessions_by_start (the record's period read) stays through a bulk load: an import
      // writes sessions in time order, so it is appended to, not written at random places.
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'
       AND sql IS NOT NULL AND name <> 'sessions_by_start' ORDER BY name`,
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
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    db.close()
    // Opening again does not re-run migrations.
    const again = new SqliteStore({ file })
    await again.close()
    dir.remove()
  })

  it('refuses a file of the pre-release schema, naming its version, and leaves it as it was', () => {
    const dir = tempDir()
    const file = join(dir.path, 'liveinsight.db')
    const old = new Database(file)
    old.exec('CREATE TABLE visitor_mark_log (day TEXT NOT NULL, mark INTEGER NOT NULL)')
    old.pragma('user_version = 10')
    old.close()
    expect(() => new SqliteStore({ file })).toThrow(
      /liveinsight\.db was written by a pre-release schema \(version 10\).*move the file aside and start again/,
    )
    const db = new Database(file, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(10)
    expect(db.prepare('SELECT name FROM sqlite_master').pluck().all()).toEqual(['visitor_mark_log'])
    db.close()
    dir.remove()
  })

  it('keeps a dead-lettered item as readable JSON with its reason', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'dead.db')
    const store = new SqliteStore({ file })
    const hit = { site_id: 's', timezone: 'UTC', timestamp: 1 }
    await store.accept([enrichedEvent({ event_id: 'poison' })], [hit])
    // What the queue held: the item as the roll-up reads it.
    const pending = await store.pending(10)
    expect(pending).toHaveLength(2)
    for (const entry of pending) await store.deadLetter(entry, `failed ${entry.position}`, 7)
    expect(await store.backlog()).toBe(0)
    const db = new Database(file, { readonly: true })
    const rows = db
      .prepare('SELECT seq, payload, reason, failed_at FROM ingest_dead_letter ORDER BY seq')
      .all() as Array<{ seq: number; payload: string; reason: string; failed_at: number }>
    db.close()
    expect(rows.map((r) => [String(r.seq), JSON.parse(r.payload), r.reason, r.failed_at])).toEqual(
      pending.map(({ position, item }) => [position, item, `failed ${position}`, 7]),
    )
    expect(JSON.parse(rows[0]?.payload ?? '{}').event.event_id).toBe('poison')
    await store.close()
    dir.remove()
  })

  it('keeps marks past its memory limit in the table, exact and durable', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'marks.db')
    const mark = (visitor_id: string, day = '2026-01-01') => ({
      site_id: 's',
      day,
      scope: '',
      visitor_id,
    })
    const claim = (store: SqliteStore, visitors: string[], day?: string) =>
      store.rollup(async (unit) => {
        const claimed = await unit.claimMarks(visitors.map((v) => mark(v, day)))
        await unit.write({ sessions: [], deltas: [] })
        return claimed
      })
    const store = new SqliteStore({ file, memoryMarks: 500 })
    const batch = (from: number) => Array.from({ length: 200 }, (_, i) => `v${from + i}`)
    for (let from = 0; from < 2000; from += 200) {
      expect(await claim(store, batch(from))).toEqual(batch(from).map(() => true))
    }
    // Memory never held much more than its limit: the day moved to the table.
    const db = new Database(file, { readonly: true })
    const rows = () =>
      db.prepare("SELECT count(*) FROM visitor_marks WHERE day = '2026-01-01'").pluck().get()
    expect(rows()).toBeGreaterThanOrEqual(1500)
    // Seen and new marks, a repeat within one unit, and another day still in memory.
    expect(await claim(store, ['v5', 'v1999', 'new-1', 'new-1', 'v3'])).toEqual([
      false,
      false,
      true,
      false,
      false,
    ])
    expect(await claim(store, ['v5'], '2026-01-02')).toEqual([true])
    await store.close()
    // Reopened: the table and the blocks answer the same.
    const again = new SqliteStore({ file, memoryMarks: 500 })
    expect(await claim(again, ['v7', 'new-1', 'new-2'])).toEqual([false, false, true])
    expect(await claim(again, ['v5'], '2026-01-02')).toEqual([false])
    const swept = await again.sweep({ now: Date.UTC(2026, 0, 10), eventTtlMs: 3_600_000 })
    expect(swept.marks).toBeGreaterThan(2000)
    expect(rows()).toBe(0)
    db.close()
    await again.close()
    dir.remove()
  })

  it('gives back the marks of a failed unit in the table as well', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db'), memoryMarks: 1 })
    const mark = (visitor_id: string) => ({
      site_id: 's',
      day: '2026-01-01',
      scope: '',
      visitor_id,
    })
    await store.rollup(async (unit) => {
      await unit.claimMarks([mark('a'), mark('b')])
      await unit.write({ sessions: [], deltas: [] })
    })
    await expect(
      store.rollup(async (unit) => {
        expect(await unit.claimMarks([mark('c')])).toEqual([true])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const again = await store.rollup((unit) => unit.claimMarks([mark('a'), mark('c')]))
    expect(again).toEqual([false, true])
    await store.close()
    dir.remove()
  })

  it('folds the blocks of a day whose move to the table a crash cut short', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    await new SqliteStore({ file }).close()
    // Part of the day in rows, the rest still in a block, as a crash between the two leaves it.
    const db = new Database(file)
    db.prepare('INSERT INTO visitor_marks (day, hash) VALUES (?, ?)').run(
      '2026-01-01',
      markHash('s', '', 'moved'),
    )
    db.prepare('INSERT INTO visitor_mark_blocks (day, marks) VALUES (?, ?)').run(
      '2026-01-01',
      packMarks([markHash('s', '', 'moved'), markHash('s', '', 'left')]),
    )
    db.close()
    const store = new SqliteStore({ file })
    const claimed = await store.rollup((unit) =>
      unit.claimMarks(
        ['moved', 'left', 'new'].map((v) => ({
          site_id: 's',
          day: '2026-01-01',
          scope: '',
          visitor_id: v,
        })),
      ),
    )
    expect(claimed).toEqual([false, false, true])
    await store.close()
    const check = new Database(file, { readonly: true })
    expect(check.prepare('SELECT count(*) FROM visitor_mark_blocks').pluck().get()).toBe(0)
    expect(check.prepare('SELECT count(*) FROM visitor_marks').pluck().get()).toBe(2)
    check.close()
    dir.remove()
  })

  it("reads the record's period as ranges of indexes, never a scan of the history", async () => {
    const dir = tempDir()
    const file = join(dir.path, 'plan.db')
    const store = new SqliteStore({ file })
    const db = new Database(file, { readonly: true })
    const plan = (sql: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>)
        .map((row) => row.detail)
        .join('; ')
    expect(plan(RECORD_SQL.sessions, 's', 0, 1, 0)).toMatch(
      /SEARCH sessions USING INDEX sessions_by_start \(site_id=\? AND start_time>\? AND start_time<\?\)/,
    )
    expect(plan(RECORD_SQL.events, 's', 'c', 0, 1)).toMatch(
      /SEARCH record_events USING PRIMARY KEY \(site_id=\? AND client_session_id=\? AND timestamp>\? AND timestamp<\?\)/,
    )
    db.close()
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
    const store = new SqliteStore({ file, commitThread: true })
    const db = new Database(file)
    // A real SQLite failure on the commit thread's connection, for one session only.
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
    await expect(store.rollup(async () => 'more')).rejects.toThrow(/poisoned session/)
    await store.close()
    dir.remove()
  })

  it('rolls back a unit of work that fails half-way', async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    await expect(
      store.rollup(async (unit) => {
        await unit.claimMarks([{ site_id: 's', day: '2026-01-01', scope: '', visitor_id: 'v' }])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const claimedAgain = await store.rollup((unit) =>
      unit.claimMarks([{ site_id: 's', day: '2026-01-01', scope: '', visitor_id: 'v' }]),
    )
    expect(claimedAgain).toEqual([true])
    await store.close()
    dir.remove()
  })

  it('remembers claimed visitor marks across a restart', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    const mark = (visitor_id: string) => ({
      site_id: 's',
      day: '2026-01-01',
      scope: '',
      visitor_id,
    })
    const store = new SqliteStore({ file })
    await store.rollup(async (unit) => {
      expect(await unit.claimMarks([mark('a'), mark('b')])).toEqual([true, true])
      await unit.write({ sessions: [], deltas: [] })
    })
    await store.close()
    const again = new SqliteStore({ file })
    const claimed = await again.rollup((unit) =>
      unit.claimMarks([mark('a'), mark('b'), mark('new')]),
    )
    expect(claimed).toEqual([false, false, true])
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
      await store.rollup(async (unit) => {
        expect(await unit.claimMarks([mark(day, 'a')])).toEqual([true])
        await unit.write({ sessions: [], deltas: [] })
      })
    }
    // Written to the log behind the store's back: seen only if day 1 is read back from it.
    const db = new Database(join(dir.path, 'x.db'))
    db.prepare('INSERT INTO visitor_mark_blocks (day, marks) VALUES (?, ?)').run(
      '2026-01-01',
      packMarks([markHash('s', '', 'c')]),
    )
    db.close()
    // The first days were unloaded on the way; their marks still count as claimed.
    const again = await store.rollup((unit) =>
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
    await rollup.rollup(async (unit) => {
      await unit.uncounted([])
      // Another connection commits meanwhile; it would wait for the lock (and time out) if
      // the unit had taken it at the start.
      expect((await acceptor.accept([enrichedEvent({ event_id: 'during' })], [])).fresh).toEqual([
        true,
      ])
      await unit.write({ sessions: [], deltas: [] })
    })
    expect(await rollup.backlog()).toBe(1)
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
    // Queued events wait for the roll-up: none goes yet.
    expect((await sweep()).events).toBe(0)
    const pending = await store.pending(20_000)
    const { stream, position } = pending.at(-1) as RollupEntry
    await store.rollup((unit) =>
      unit.write({ sessions: [], deltas: [], through: [{ stream, position }] }),
    )
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
      await store.rollup((unit) =>
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

  it('reports a held lock and a full file as storage unavailable, and bad data as it is', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'x.db')
    const store = new SqliteStore({ file, busyTimeoutMs: 20, maxPageCount: 100 })
    const site = { id: 's', name: 'S', domain: 's.example', timezone: 'UTC', created_at: 1 }
    await store.createSite({ ...site, api_key: 'key-1' })
    const other = new Database(file)
    other.exec('BEGIN IMMEDIATE')
    const event = enrichedEvent({ event_id: 'e', timestamp: Date.UTC(2026, 0, 1) })
    await expect(store.accept([event], [])).rejects.toThrow(StorageUnavailableError)
    await expect(store.setSiteApiKey('s', 'key-2')).rejects.toThrow(/SQLITE_BUSY/)
    other.exec('ROLLBACK')
    // The page limit is this connection's: another one fills the file up to it.
    other.exec('CREATE TABLE ballast (b BLOB)')
    other.prepare('INSERT INTO ballast VALUES (zeroblob(?))').run(100 * 4096)
    await expect(
      store.accept([{ ...event, page_url: `https://s.example/${'x'.repeat(2000)}` }], []),
    ).rejects.toThrow(/SQLITE_FULL/)
    other.exec('DROP TABLE ballast')
    other.close()
    await expect(store.accept([event], [])).resolves.toMatchObject({ fresh: [true] })
    // A second site with the same id is the caller's mistake, not a fault of the storage.
    const duplicate = store.createSite({ ...site, api_key: 'key-3' })
    await expect(duplicate).rejects.toThrow(/UNIQUE/)
    await expect(duplicate).rejects.not.toThrow(StorageUnavailableError)
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
