import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { hourBucket } from '../../core/calendar.ts'
import { DIMENSIONS } from '../../core/rollup-deltas.ts'
import {
  type BotHit,
  COUNTER_NAMES,
  type EnrichedEvent,
  type SessionState,
  type Site,
} from '../../core/types.ts'
import {
  type Accepted,
  type EventRecord,
  type IngestUnit,
  type LiveEvent,
  type QueuedEntry,
  type QueuedItem,
  type RollupRange,
  type RollupRow,
  type SessionLookup,
  type Store,
  type SweepPolicy,
  type SweepResult,
  type TopValuesQuery,
  type UserSessionsQuery,
} from '../store.ts'
import { buildLookupIndexes, dropLookupIndexes } from './lookup-indexes.ts'
import { groupByDay, markHash, packMarks, unpackMarks } from './mark-hash.ts'
import { MarkSet } from './mark-set.ts'
import { migrate } from './migrations.ts'
import {
  EVENT_COLUMNS,
  eventOf,
  eventRowValues,
  extraOf,
  type StoredEventRow,
} from './queued-event.ts'
import { SpanRollups } from './span-rollups.ts'

export interface SqliteStoreOptions {
  /** Path of the database file; ":memory:" is refused, the embedded shape is a real file. */
  file: string
  synchronous?: 'FULL' | 'NORMAL'
  /**
   * SQLite's page cache in MB (its default is 2). A history import writes a session row per
   * few events into an index keyed by client session id, which lands on random pages: 64 MB
   * made a month's import 12% faster. The server keeps the default; its writes are small.
   */
  cacheMb?: number
}

const SESSION_COLUMNS = [
  'id',
  'site_id',
  'client_session_id',
  'visitor_id',
  'user_id',
  'start_time',
  'end_time',
  'pageviews',
  'interactions',
  'entry_page',
  'exit_page',
  'source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'browser',
  'os',
  'device',
  'country',
] as const satisfies readonly (keyof SessionState)[]

/** Visitor marks and salts outlive their day by this much (late events, far time zones). */
const MARK_KEEP_DAYS = 2
/** Raw events removed per sweep transaction. */
const SWEEP_CHUNK = 5000
/** Hourly dimension rows serve the rolling "24h" view; day rows keep the history. */
const HOURLY_DIMENSION_KEEP_HOURS = 72

function utcDay(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(0, 10)
}

/** Queue entries with the stored row of each queued event (null columns for bot hits). */
const QUEUE_ROWS = `SELECT q.seq, q.payload, q.extra, ${EVENT_COLUMNS.map((c) => `e.${c}`).join(', ')}
  FROM ingest_queue q LEFT JOIN events e
    ON e.site_id = q.site_id AND e.timestamp = q.timestamp AND e.event_id = q.event_id`

type QueueRow = StoredEventRow & { seq: number; payload: string | null; extra: string | null }

function queuedItemOf(row: QueueRow): QueuedEntry {
  if (row.payload !== null) return { seq: row.seq, item: JSON.parse(row.payload) as QueuedItem }
  if (row.site_id === null || row.extra === null) {
    // Only a sweep could remove it, and the sweep spares queued events: never expected.
    throw new Error(`SqliteStore: queued event ${row.seq} has no stored event row`)
  }
  return { seq: row.seq, item: { kind: 'event', event: eventOf(row, row.extra) } }
}

/** Days of visitor marks kept in memory (see `markSets`). */
const MARK_DAYS_IN_MEMORY = 6

/** The embedded backend: one SQLite file in WAL mode, every statement prepared once. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  private readonly db: Database.Database
  private readonly statements
  private readonly spans: SpanRollups
  /**
   * Visitor marks per day: a MarkSet lookup on the hot path, an append to the log when new.
   * Only the latest MARK_DAYS_IN_MEMORY days stay loaded; an older day is read back from the
   * log if it is touched again.
   */
  private readonly markSets = new Map<string, MarkSet>()
  /** The last sweep's hourly cutoff (IngestUnit.hourlyDimensionsFrom); none before a sweep. */
  private hourlyDimensionsFrom = Number.NEGATIVE_INFINITY
  /** The sessions' lookup indexes are dropped for a bulk load (lookup-indexes.ts). */
  private lookupIndexesDropped = false
  /** Serialises units of work: one write transaction at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(options: SqliteStoreOptions) {
    if (options.file === ':memory:' || options.file === '') {
      throw new Error('SqliteStore: a database file path is required')
    }
    mkdirSync(dirname(options.file), { recursive: true })
    this.db = new Database(options.file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
    this.db.pragma('busy_timeout = 5000')
    if (options.cacheMb) this.db.pragma(`cache_size = -${Math.round(options.cacheMb * 1024)}`)
    this.db.pragma('foreign_keys = ON')
    migrate(this.db)
    // A bulk load that crashed left its indexes dropped.
    buildLookupIndexes(this.db)
    this.statements = this.prepare()
    this.spans = new SpanRollups(this.db)
  }

  private prepare() {
    const db = this.db
    const counterUpsert = (table: string) =>
      db.prepare(
        // Positional: binding by name costs a property lookup per column and a merged object.
        `INSERT INTO ${table} (site_id, dim, bucket, value, ${COUNTER_NAMES.join(', ')})
         VALUES (?, ?, ?, ?, ${COUNTER_NAMES.map(() => '?').join(', ')})
         ON CONFLICT (site_id, dim, bucket, value) DO UPDATE SET
         ${COUNTER_NAMES.map((n) => `${n} = ${n} + excluded.${n}`).join(', ')}`,
      )
    const rollupRange = (table: string, oneValue: boolean) =>
      db.prepare(
        // One value over time (a filter) reads that value's rows only, not the whole range.
        `SELECT * FROM ${table} ${oneValue ? `INDEXED BY ${table}_by_value` : ''}
         WHERE site_id = ? AND dim = ? AND bucket BETWEEN ? AND ?
         ${oneValue ? 'AND value = ?' : ''} ORDER BY bucket, value`,
      )
    return {
      insertSite: db.prepare(
        `INSERT INTO sites (id, name, domain, timezone, api_key, created_at)
         VALUES (@id, @name, @domain, @timezone, @api_key, @created_at)`,
      ),
      siteById: db.prepare('SELECT * FROM sites WHERE id = ?'),
      siteByKey: db.prepare('SELECT * FROM sites WHERE api_key = ?'),
      allSites: db.prepare('SELECT * FROM sites ORDER BY created_at, id'),
      setApiKey: db.prepare('UPDATE sites SET api_key = ? WHERE id = ?'),
      insertSalt: db.prepare('INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)'),
      saltOf: db.prepare('SELECT salt FROM salts WHERE day = ?').pluck(),
      enqueue: db.prepare('INSERT INTO ingest_queue (payload) VALUES (?)'),
      enqueueEvent: db.prepare(
        'INSERT INTO ingest_queue (site_id, timestamp, event_id, extra) VALUES (?, ?, ?, ?)',
      ),
      // The roll-up's view of the queue: bot hits (and pre-v7 entries) carry their payload,
      // events are joined back from their row in `events` (queued-event.ts).
      queued: db.prepare(`${QUEUE_ROWS} ORDER BY q.seq LIMIT ?`),
      queueHead: db.prepare('SELECT min(seq) FROM ingest_queue').pluck(),
      oldestQueuedEvent: db.prepare('SELECT min(timestamp) FROM ingest_queue').pluck(),
      retireQueue: db.prepare('DELETE FROM ingest_queue WHERE seq <= ?'),
      queueLength: db.prepare('SELECT count(*) FROM ingest_queue').pluck(),
      toDeadLetter: db.prepare(
        `INSERT OR REPLACE INTO ingest_dead_letter (seq, payload, reason, failed_at)
         VALUES (?, ?, ?, ?)`,
      ),
      queuedOne: db.prepare(`${QUEUE_ROWS} WHERE q.seq = ?`),
      unqueue: db.prepare('DELETE FROM ingest_queue WHERE seq = ?'),
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO events (${EVENT_COLUMNS.join(', ')})
         VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`,
      ),
      sessionsOverlapping: db.prepare(
        `SELECT * FROM sessions WHERE site_id = ? AND client_session_id = ?
         AND start_time <= ? AND end_time >= ? ORDER BY start_time`,
      ),
      upsertSession: db.prepare(
        `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
         VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (id) DO UPDATE SET
         ${SESSION_COLUMNS.filter((c) => c !== 'id')
           .map((c) => `${c} = excluded.${c}`)
           .join(', ')}`,
      ),
      logMarks: db.prepare('INSERT INTO visitor_mark_blocks (day, marks) VALUES (?, ?)'),
      // Marks logged one per row before v5; still read until their day is swept.
      marksOfDay: db.prepare('SELECT mark FROM visitor_mark_log WHERE day = ?').pluck(),
      packedMarksOfDay: db.prepare('SELECT marks FROM visitor_mark_blocks WHERE day = ?').pluck(),
      bumpCountersVersion: db.prepare(
        `INSERT INTO counters_version (site_id, version) VALUES (?, 1)
         ON CONFLICT (site_id) DO UPDATE SET version = version + 1`,
      ),
      countersVersion: db.prepare('SELECT version FROM counters_version WHERE site_id = ?').pluck(),
      addHour: counterUpsert('rollup_hour'),
      addDay: counterUpsert('rollup_day'),
      sessionById: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      // A session containing the time; else the nearest (the event may sit in a gap).
      sessionOfClientAt: db.prepare(
        `SELECT * FROM sessions WHERE site_id = @site AND client_session_id = @client
         ORDER BY CASE WHEN start_time <= @at AND end_time >= @at THEN 0 ELSE 1 END,
         min(abs(start_time - @at), abs(end_time - @at)) LIMIT 1`,
      ),
      eventsOfSession: db.prepare(
        `SELECT * FROM events WHERE site_id = ? AND timestamp BETWEEN ? AND ?
         AND client_session_id = ? ORDER BY timestamp, event_id`,
      ),
      rollups: {
        hour: rollupRange('rollup_hour', false),
        day: rollupRange('rollup_day', false),
      },
      rollupsOfValue: {
        hour: rollupRange('rollup_hour', true),
        day: rollupRange('rollup_day', true),
      },
      userSessions: db.prepare(
        `SELECT * FROM sessions WHERE site_id = ? AND user_id = ? AND start_time < ?
         ORDER BY start_time DESC LIMIT ?`,
      ),
      liveEvents: db.prepare(
        `SELECT site_id, client_session_id AS session_id, visitor_id, timestamp, event_type, path,
                title, source, country, device, browser
         FROM events WHERE site_id IN (SELECT id FROM sites) AND timestamp >= ?
         ORDER BY timestamp`,
      ),
      getSetting: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
      initSetting: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
      putSetting: db.prepare(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
      sweepEvents: db.prepare(
        `DELETE FROM events WHERE (site_id, timestamp, event_id) IN (
           SELECT site_id, timestamp, event_id FROM events
           WHERE site_id = ? AND timestamp < ? LIMIT ${SWEEP_CHUNK})`,
      ),
      sweepMarks: db.prepare('DELETE FROM visitor_mark_log WHERE day < ?'),
      sweepPackedMarks: db.prepare('DELETE FROM visitor_mark_blocks WHERE day < ?'),
      // By site and dimension, so each delete is a range of the key, not a scan of the table.
      sweepHourly: db.prepare(
        'DELETE FROM rollup_hour WHERE site_id = ? AND dim = ? AND bucket < ?',
      ),
      sweepSalts: db.prepare('DELETE FROM salts WHERE day < ?'),
      ping: db.prepare('SELECT count(*) FROM sites').pluck(),
    }
  }

  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const s = this.statements
    const queued: QueuedEntry[] = []
    // Small and append-only: the events key starts with the time, the queue with its seq.
    const fresh = this.db.transaction(() => {
      const stored = events.map((event) => {
        if (s.insertEvent.run(...eventRowValues(event)).changes !== 1) return false
        const seq = s.enqueueEvent.run(
          event.site_id,
          event.timestamp,
          event.event_id,
          extraOf(event),
        ).lastInsertRowid
        queued.push({ seq: Number(seq), item: { kind: 'event', event } })
        return true
      })
      for (const hit of bots) {
        const item: QueuedItem = { kind: 'bot', hit }
        const seq = s.enqueue.run(JSON.stringify(item)).lastInsertRowid
        queued.push({ seq: Number(seq), item })
      }
      return stored
    })()
    return { fresh, queued }
  }

  async queueLength(): Promise<number> {
    return this.statements.queueLength.get() as number
  }

  async deadLetter(seq: number, reason: string, at: number): Promise<void> {
    const s = this.statements
    this.db.transaction(() => {
      const row = s.queuedOne.get(seq) as QueueRow | undefined
      if (!row) return
      // The whole item as JSON, readable without the queue's join (the raw row may go later).
      let payload: string
      try {
        payload = JSON.stringify(queuedItemOf(row).item)
      } catch {
        payload = JSON.stringify({ seq, site_id: row.site_id, payload: row.payload })
      }
      s.toDeadLetter.run(seq, payload, reason, at)
      s.unqueue.run(seq)
    })()
  }

  ingest<T>(work: (unit: IngestUnit) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runUnit(work))
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * A roll-up unit reads and computes outside any transaction and holds the write lock only
   * for `write`: this store is the only writer of sessions, marks and counters and the only
   * remover of queue entries, so what it read cannot change underneath it, while accepts
   * (appends to events and the queue, from another connection) go on meanwhile.
   */
  private async runUnit<T>(work: (unit: IngestUnit) => Promise<T>): Promise<T> {
    const s = this.statements
    // Marks claimed by this unit: logged by `write`, taken back out of memory if it fails.
    const claimed: Array<{ day: string; set: MarkSet; hash: number }> = []
    const unit: IngestUnit = {
      hourlyDimensionsFrom: this.hourlyDimensionsFrom,
      queued: async (limit) => (s.queued.all(limit) as QueueRow[]).map(queuedItemOf),
      queueHead: async () => s.queueHead.get() as number | null,
      sessionsFor: async (lookups: readonly SessionLookup[]) => {
        this.ensureLookupIndexes()
        return lookups.flatMap(
          (l) =>
            s.sessionsOverlapping.all(
              l.site_id,
              l.client_session_id,
              l.to,
              l.from,
            ) as SessionState[],
        )
      },
      claimMarks: async (marks) =>
        marks.map((m) => {
          const set = this.marksOf(m.day)
          const hash = markHash(m.site_id, m.scope, m.visitor_id)
          if (!set.add(hash)) return false
          claimed.push({ day: m.day, set, hash })
          return true
        }),
      write: async ({ sessions, removedSessions = [], deltas, events = [], processedThrough }) => {
        this.db.exec('BEGIN IMMEDIATE')
        try {
          // One packed row per day for all the marks this unit claimed (8 bytes each).
          for (const [day, hashes] of groupByDay(claimed)) {
            s.logMarks.run(day, packMarks(hashes))
          }
          for (const session of sessions) {
            s.upsertSession.run(SESSION_COLUMNS.map((column) => session[column]))
          }
          for (const id of removedSessions) s.deleteSession.run(id)
          for (const event of events) s.insertEvent.run(...eventRowValues(event))
          for (const delta of deltas) {
            const { key, counters: c } = delta
            const values = [
              key.site_id,
              key.dim,
              key.bucket,
              key.value,
              ...COUNTER_NAMES.map((name) => c[name]),
            ]
            if (key.grain === 'hour') s.addHour.run(values)
            else s.addDay.run(values)
          }
          this.spans.afterWrite(deltas)
          for (const site of new Set(deltas.map((delta) => delta.key.site_id))) {
            s.bumpCountersVersion.run(site)
          }
          if (processedThrough !== undefined) s.retireQueue.run(processedThrough)
          this.db.exec('COMMIT')
          this.unloadOldMarkDays()
        } catch (error) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK')
          throw error
        }
        claimed.length = 0
      },
    }
    try {
      return await work(unit)
    } catch (error) {
      for (const { set, hash } of claimed) set.delete(hash)
      this.spans.forget()
      throw error
    }
  }

  /** The day's claimed marks, loaded from the log the first time the day is touched. */
  private marksOf(day: string): MarkSet {
    let set = this.markSets.get(day)
    if (!set) {
      set = new MarkSet()
      for (const hash of this.statements.marksOfDay.all(day) as number[]) set.add(hash)
      for (const packed of this.statements.packedMarksOfDay.all(day) as Buffer[]) {
        for (const hash of unpackMarks(packed)) set.add(hash)
      }
      this.markSets.set(day, set)
    }
    return set
  }

  /**
   * Unloads the oldest days beyond MARK_DAYS_IN_MEMORY. Only between units, once what they
   * claimed is logged, so a day read back never misses a mark. Live traffic touches at most
   * three days (24 hours across time zones); a history import moves forward, so a month's
   * import no longer holds the whole month.
   */
  private unloadOldMarkDays(): void {
    if (this.markSets.size <= MARK_DAYS_IN_MEMORY) return
    const days = [...this.markSets.keys()].sort()
    for (const day of days.slice(0, days.length - MARK_DAYS_IN_MEMORY)) this.markSets.delete(day)
  }

  async createSite(site: Site): Promise<void> {
    this.statements.insertSite.run(site)
  }

  async getSite(id: string): Promise<Site | undefined> {
    return this.statements.siteById.get(id) as Site | undefined
  }

  async getSiteByApiKey(apiKey: string): Promise<Site | undefined> {
    return this.statements.siteByKey.get(apiKey) as Site | undefined
  }

  async listSites(): Promise<Site[]> {
    return this.statements.allSites.all() as Site[]
  }

  async setSiteApiKey(id: string, apiKey: string): Promise<void> {
    this.statements.setApiKey.run(apiKey, id)
  }

  async dailySalt(day: string): Promise<string> {
    this.statements.insertSalt.run(day, randomBytes(32).toString('base64url'))
    return this.statements.saltOf.get(day) as string
  }

  async countersVersion(siteId: string): Promise<number> {
    return (this.statements.countersVersion.get(siteId) as number | undefined) ?? 0
  }

  async getSession(id: string): Promise<SessionState | undefined> {
    return this.statements.sessionById.get(id) as SessionState | undefined
  }

  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    this.ensureLookupIndexes()
    return this.statements.sessionOfClientAt.get({
      site: site_id,
      client: client_session_id,
      at,
    }) as SessionState | undefined
  }

  async sessionEvents(sessionId: string): Promise<EventRecord[]> {
    const session = this.statements.sessionById.get(sessionId) as SessionState | undefined
    if (!session) return []
    const rows = this.statements.eventsOfSession.all(
      session.site_id,
      session.start_time,
      session.end_time,
      session.client_session_id,
    ) as Array<EventRecord & { props: string | null }>
    return rows.map((row) => ({ ...row, props: row.props ? JSON.parse(row.props) : null }))
  }

  async readRollups(range: RollupRange): Promise<RollupRow[]> {
    const args = [range.site_id, range.dim, range.from, range.to]
    if (range.value === undefined) {
      return this.statements.rollups[range.grain].all(...args) as RollupRow[]
    }
    return this.statements.rollupsOfValue[range.grain].all(...args, range.value) as RollupRow[]
  }

  async topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    // The counter name is checked against the fixed list before it becomes part of SQL.
    for (const name of [query.orderBy, ...(query.counters ?? [])]) {
      if (!COUNTER_NAMES.includes(name)) {
        throw new Error(`SqliteStore.topValues: unknown counter ${name}`)
      }
    }
    if (query.counters && !query.counters.includes(query.orderBy)) {
      throw new Error(`SqliteStore.topValues: counters must include ${query.orderBy}`)
    }
    return this.spans.topValues(query)
  }

  async userSessions(query: UserSessionsQuery): Promise<SessionState[]> {
    this.ensureLookupIndexes()
    return this.statements.userSessions.all(
      query.site_id,
      query.user_id,
      query.before ?? Number.MAX_SAFE_INTEGER,
      query.limit,
    ) as SessionState[]
  }

  async liveEventsSince(since: number): Promise<LiveEvent[]> {
    return this.statements.liveEvents.all(since) as LiveEvent[]
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.statements.getSetting.get(name) as string | undefined
  }

  async initSetting(name: string, value: string): Promise<string> {
    this.statements.initSetting.run(name, value)
    return this.statements.getSetting.get(name) as string
  }

  async putSetting(name: string, value: string): Promise<void> {
    this.statements.putSetting.run(name, value)
  }

  async sweep(policy: SweepPolicy): Promise<SweepResult> {
    const s = this.statements
    const keepDaysFrom = utcDay(policy.now - MARK_KEEP_DAYS * 86_400_000)
    for (const day of this.markSets.keys()) if (day < keepDaysFrom) this.markSets.delete(day)
    const hourCutoff = hourBucket(policy.now) - HOURLY_DIMENSION_KEEP_HOURS
    this.hourlyDimensionsFrom = Math.max(this.hourlyDimensionsFrom, hourCutoff)
    const siteIds = (s.allSites.all() as Site[]).map((site) => site.id)
    // Raw events go in chunks, each its own short transaction, so a large sweep never holds
    // the write lock long enough to make accepts wait (or time out) behind it.
    // An event still waiting for the roll-up (one sent late, with an old time) is kept until
    // it is rolled up: the queue holds only its key.
    const oldestQueued = s.oldestQueuedEvent.get() as number | null
    const cutoff = Math.min(
      policy.now - policy.eventTtlMs,
      oldestQueued ?? Number.POSITIVE_INFINITY,
    )
    let events = 0
    for (const site of siteIds) {
      for (;;) {
        const removed = s.sweepEvents.run(site, cutoff).changes
        events += removed
        if (removed < SWEEP_CHUNK) break
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    return this.db.transaction(() => ({
      events,
      marks: s.sweepMarks.run(keepDaysFrom).changes + s.sweepPackedMarks.run(keepDaysFrom).changes,
      hourly_dimension_rows:
        siteIds
          .flatMap((site) =>
            DIMENSIONS.map((dim) => s.sweepHourly.run(site, dim, hourCutoff).changes),
          )
          .reduce((a, b) => a + b, 0) + this.spans.sweepHours(siteIds, hourCutoff),
      salts: s.sweepSalts.run(keepDaysFrom).changes,
    }))()
  }

  async health(): Promise<void> {
    this.statements.ping.get()
  }

  async beginBulkLoad(): Promise<void> {
    await this.queue
    dropLookupIndexes(this.db)
    this.lookupIndexesDropped = true
  }

  async endBulkLoad(): Promise<void> {
    await this.queue
    this.ensureLookupIndexes()
  }

  /**
   * Builds the lookup indexes first if a bulk load dropped them: a lookup without them would
   * scan every session. The load goes on with them from then on.
   */
  private ensureLookupIndexes(): void {
    if (!this.lookupIndexesDropped) return
    buildLookupIndexes(this.db)
    this.lookupIndexesDropped = false
  }

  async close(): Promise<void> {
    await this.queue
    this.ensureLookupIndexes()
    this.db.close()
  }
}
