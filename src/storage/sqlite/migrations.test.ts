import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { BASE_VERSION, MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.ts'
import { type PackedBatch, packBatch, unpackBatch } from './packed-item.ts'
import { SqliteStore } from './sqlite-store.ts'
import { UnusableDatabaseError } from './unusable-database.ts'

let dir: ReturnType<typeof tempDir>
beforeEach(() => {
  dir = tempDir()
})
afterEach(() => dir.remove())

const version = (db: Database.Database) => db.pragma('user_version', { simple: true })
const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()

/** A file at the base schema, as a build with no forward migrations leaves it. */
function baseFile(name: string): Database.Database {
  const db = new Database(join(dir.path, name))
  expect(migrate(db, [])).toBe(BASE_VERSION)
  return db
}

describe('schema migrations', () => {
  it('gives a new file the schema and its version', () => {
    const db = new Database(join(dir.path, 'new.db'))
    expect(migrate(db)).toBe(SCHEMA_VERSION)
    expect(version(db)).toBe(SCHEMA_VERSION)
    expect(tables(db)).toContain('ingest_batch')
    expect(db.prepare('SELECT next_seq, retired_through FROM ingest_cursor').get()).toEqual({
      next_seq: 1,
      retired_through: 0,
    })
    // A file at the current version opens as it is.
    const before = tables(db)
    expect(migrate(db)).toBe(SCHEMA_VERSION)
    expect(tables(db)).toEqual(before)
    db.close()
  })

  it('runs a forward migration once, in order, and moves the version', () => {
    const db = baseFile('forward.db')
    db.prepare("INSERT INTO settings (name, value) VALUES ('kept', 'yes')").run()
    const forward = [
      'CREATE TABLE added (n INTEGER NOT NULL); INSERT INTO added (n) VALUES (1);',
      'INSERT INTO added (n) SELECT max(n) + 1 FROM added;',
    ]
    expect(migrate(db, forward.slice(0, 1))).toBe(BASE_VERSION + 1)
    expect(version(db)).toBe(BASE_VERSION + 1)
    expect(migrate(db, forward)).toBe(BASE_VERSION + 2)
    expect(migrate(db, forward)).toBe(BASE_VERSION + 2)
    expect(version(db)).toBe(BASE_VERSION + 2)
    expect(db.prepare('SELECT n FROM added ORDER BY n').pluck().all()).toEqual([1, 2])
    expect(db.prepare("SELECT value FROM settings WHERE name = 'kept'").pluck().get()).toBe('yes')
    db.close()
  })

  it('brings a base-version file with queued rows forward, every row still readable', async () => {
    const T = Date.UTC(2026, 0, 15, 10)
    const file = join(dir.path, 'queued.db')
    const db = baseFile('queued.db')
    // A queue row as the base version wrote it: no accept time.
    const packed = packBatch(
      ['a', 'b'].map((id, i) => ({
        seq: i + 1,
        item: { kind: 'event' as const, event: enrichedEvent({ event_id: id, timestamp: T }) },
      })),
    ) as PackedBatch
    db.prepare(
      'INSERT INTO ingest_batch (first_seq, item_count, oldest, items) VALUES (1, 2, ?, ?)',
    ).run(T, packed.text)
    db.prepare('UPDATE ingest_cursor SET next_seq = 3').run()
    db.close()

    const upgradedFrom = Date.now()
    const store = new SqliteStore({ file, now: () => T + 3_600_000 })
    const upgradedBy = Date.now()
    try {
      const reopened = new Database(file, { readonly: true })
      expect(version(reopened)).toBe(SCHEMA_VERSION)
      reopened.close()
      expect(await store.backlog()).toBe(2)
      const waiting = (await store.pending(10)).map((entry) => entry.item)
      expect(waiting).toEqual(unpackBatch(packed).map((entry) => entry.item))
      // Accepted no later than the upgrade: its time stands in for the unknown accept time.
      const oldest = await store.oldestPendingAcceptedAt()
      expect(oldest).toBeGreaterThanOrEqual(upgradedFrom)
      expect(oldest).toBeLessThanOrEqual(upgradedBy)
      // The queue goes on after it: a new accept is queued behind, with its own time.
      await store.accept([enrichedEvent({ event_id: 'c', timestamp: T })], [])
      const entries = await store.pending(10)
      expect(entries.map((e) => e.item.kind === 'event' && e.item.event.event_id)).toEqual([
        'a',
        'b',
        'c',
      ])
      // Rolled up through the old row: the new one is the oldest waiting.
      const [, lastOld] = entries
      await store.rollup((unit) =>
        unit.write({ sessions: [], deltas: [], through: lastOld ? [lastOld] : [] }),
      )
      expect(await store.oldestPendingAcceptedAt()).toBe(T + 3_600_000)
    } finally {
      await store.close()
    }
  })

  it('reads a session stored before version 103 with "" for hostname, UTM term and content, screen', async () => {
    const T = Date.UTC(2026, 0, 15, 10)
    const file = join(dir.path, 'sessions.db')
    const db = new Database(file)
    expect(migrate(db, MIGRATIONS.slice(0, 2))).toBe(102)
    db.prepare(
      `INSERT INTO sessions VALUES ('s1', 'site-a', 'client-1', 'visitor-1', NULL, ?, ?, 1, 0,
       '/', '/', 'Direct', 'direct', '', '', '', 'Chrome', 'Windows', 'desktop', 'KR')`,
    ).run(T, T)
    db.close()

    const store = new SqliteStore({ file, now: () => T })
    try {
      const [session] = await store.rollup(async (unit) => {
        const found = await unit.sessionsFor([
          { site_id: 'site-a', client_session_id: 'client-1', from: T, to: T },
        ])
        await unit.write({ sessions: [], deltas: [], through: [] })
        return found
      })
      expect(session).toMatchObject({
        id: 's1',
        country: 'KR',
        hostname: '',
        utm_term: '',
        utm_content: '',
        screen: '',
      })
    } finally {
      await store.close()
    }
  })

  it('reads a session stored before version 104 with "" for its referrer', async () => {
    const T = Date.UTC(2026, 0, 15, 10)
    const file = join(dir.path, 'referrer.db')
    const db = new Database(file)
    expect(migrate(db, MIGRATIONS.slice(0, 3))).toBe(103)
    db.prepare(
      `INSERT INTO sessions VALUES ('s1', 'site-a', 'client-1', 'visitor-1', NULL, ?, ?, 1, 0,
       '/', '/', 'Google', 'search', '', '', '', 'Chrome', 'Windows', 'desktop', 'KR',
       'example.com', '', '', 'laptop')`,
    ).run(T, T)
    db.close()

    const store = new SqliteStore({ file, now: () => T })
    try {
      expect(await store.getSession('s1')).toMatchObject({
        source: 'Google',
        hostname: 'example.com',
        referrer: '',
      })
    } finally {
      await store.close()
    }
  })

  it('keeps the sessions of a file from before the record, without events, and records from the upgrade on', async () => {
    const T = Date.UTC(2026, 0, 15, 10)
    const file = join(dir.path, 'record.db')
    const db = new Database(file)
    expect(migrate(db, MIGRATIONS.slice(0, 4))).toBe(104)
    db.prepare(
      `INSERT INTO sites VALUES ('site-a', 'A', 'example.com', 'UTC', 'key-a-0123456789', ?)`,
    ).run(T)
    // A long session counted before the upgrade, that reaches into the period read below.
    db.prepare(
      `INSERT INTO sessions VALUES ('old', 'site-a', 'client-1', 'visitor-1', NULL, ?, ?, 3, 0,
       '/', '/b', 'Google', 'search', '', '', '', 'Chrome', 'Windows', 'desktop', 'KR',
       'example.com', '', '', 'laptop', 'www.google.com')`,
    ).run(T - 5 * 3_600_000, T)
    db.close()

    const upgradedFrom = Date.now()
    const store = new SqliteStore({ file })
    const upgradedBy = Date.now()
    try {
      const since = await store.recordSince('site-a')
      expect(since).toBeGreaterThanOrEqual(upgradedFrom)
      expect(since).toBeLessThanOrEqual(upgradedBy)
      // Its session dimensions still answer filters; its events are not known.
      const [old] = await store.recordSessions('site-a', T - 60_000, T)
      expect(old).toMatchObject({ id: 'old', referrer: 'www.google.com', events: null })
      // A session after the upgrade has its events.
      const now = Date.now()
      const event = enrichedEvent({ event_id: 'new', client_session_id: 'c2', timestamp: now })
      await acceptAndRollUp(store, [event], [], {
        sessionTimeoutMs: 1_800_000,
        newSessionId: () => 'new-session',
      })
      const [fresh] = await store.recordSessions('site-a', now, now)
      expect(fresh?.events?.map((e) => e.event_id)).toEqual(['new'])
      expect(await store.recordSince('site-a')).toBe(since)
    } finally {
      await store.close()
    }
  })

  it('leaves the file at its last good version when a migration fails', () => {
    const db = baseFile('failing.db')
    const forward = [
      'CREATE TABLE added (n INTEGER NOT NULL);',
      'INSERT INTO added (n) VALUES (1); INSERT INTO added (n) VALUES (NULL);',
    ]
    expect(() => migrate(db, forward)).toThrow(/NOT NULL/)
    expect(version(db)).toBe(BASE_VERSION + 1)
    expect(db.prepare('SELECT count(*) FROM added').pluck().get()).toBe(0)
    db.close()
  })

  it('refuses a file of the pre-release schema and leaves it as it was', () => {
    const file = join(dir.path, 'liveinsight.db')
    const old = new Database(file)
    old.exec('CREATE TABLE visitor_mark_log (day TEXT NOT NULL, mark INTEGER NOT NULL)')
    old.pragma('user_version = 10')
    expect(() => migrate(old)).toThrow(
      `${file} was written by a pre-release schema (version 10), which this build does not read; move the file aside and start again`,
    )
    expect(version(old)).toBe(10)
    expect(tables(old)).toEqual(['visitor_mark_log'])
    old.close()
  })

  it('refuses a file a newer release wrote, naming its version, and leaves it as it was', () => {
    const db = baseFile('newer.db')
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    const before = tables(db)
    expect(() => migrate(db)).toThrow(UnusableDatabaseError)
    expect(() => migrate(db)).toThrow(
      `${db.name} was written by a newer release of LiveInsight (schema version ${SCHEMA_VERSION + 1}; this release reads up to ${SCHEMA_VERSION}): upgrade LiveInsight`,
    )
    expect(version(db)).toBe(SCHEMA_VERSION + 1)
    expect(tables(db)).toEqual(before)
    db.close()
  })
})
