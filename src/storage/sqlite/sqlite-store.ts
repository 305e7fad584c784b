import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import { hourBucket } from '../../core/calendar.ts'
import { DIMENSIONS } from '../../core/rollup-deltas.ts'
import { type BotHit, type EnrichedEvent, type SessionState, type Site } from '../../core/types.ts'
import type {
  Accepted,
  EventRecord,
  Handover,
  HandoverTaken,
  LiveEvent,
  QueuedItem,
  RollupEntry,
  RollupRange,
  RollupRow,
  RollupUnit,
  SessionLookup,
  Store,
  StreamPosition,
  SweepPolicy,
  SweepResult,
  TopValuesQuery,
  UserSessionsQuery,
} from '../store.ts'
import { checkTopValuesQuery } from '../store.ts'
import { CommitThread } from './commit-thread.ts'
import { type ConnectionOptions, openConnection, storageError } from './connection.ts'
import { eventRowValues, INSERT_EVENT_SQL } from './event-row.ts'
import { HotQueue } from './hot-queue.ts'
import { buildLookupIndexes, dropLookupIndexes } from './lookup-indexes.ts'
import { markHash } from './mark-hash.ts'
import { migrate } from './migrations.ts'
import type { PackedBatch, QueuedEntry } from './packed-item.ts'
import { PendingQueue } from './pending-queue.ts'
import { RollupCommit, type RollupWriteStep, unitRows } from './rollup-commit.ts'
import { SpanRollups } from './span-rollups.ts'
import {
  clearUnitMarks,
  DEFAULT_MEMORY_MARKS,
  newUnitMarks,
  VisitorMarks,
} from './visitor-marks.ts'

export interface SqliteStoreOptions extends ConnectionOptions {
  /** Path of the database file; ":memory:" is refused, the embedded shape is a real file. */
  file: string
  /**
   * Runs each unit's write transaction on a thread of its own (commit-thread.ts), so that a
   * unit returning before its write is committed (IngestUnit.write) lets the next unit be
   * computed meanwhile. For history imports; the server has its own worker threads. The
   * thread caches the span windows it writes: a sweep (which moves them) belongs before the
   * first unit or after the last, as an import runs it.
   */
  commitThread?: boolean
  /**
   * A fault hook for tests, asked at each roll-up unit's write: a step to fail the write at,
   * inside its transaction, after the steps before it are written (the contract suite's redo
   * test; a single SQLite transaction cannot fail half-way otherwise).
   */
  rollupWriteFault?: () => RollupWriteStep | undefined
  /** Visitor marks kept in memory before the largest day moves to a table (visitor-marks.ts). */
  memoryMarks?: number
  /**
   * The clock an accept records its time by (`oldestPendingAcceptedAt`, the roll-up lag);
   * Date.now when absent. The server passes its own, so the lag is measured on one clock.
   */
  now?: () => number
}

/** The SQLite queue is one stream; a position in it is an item's seq. */
const QUEUE_STREAM = 'queue'

/** Visitor marks and salts outlive their day by this much (late events, far time zones). */
const MARK_KEEP_DAYS = 2
/** Raw events removed per sweep transaction. */
const SWEEP_CHUNK = 5000
/** Hourly dimension rows serve the rolling "24h" view; day rows keep the history. */
const HOURLY_DIMENSION_KEEP_HOURS = 72

function utcDay(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(0, 10)
}

/**
 * Days of visitor marks kept loaded. Live traffic touches at most three days (24 hours across
 * time zones); a history import moves forward, so a month's import never holds the month.
 */
const MARK_DAYS_LOADED = 6

/** Runs statements; a fault of the storage (locked, full, I/O) comes out as StorageUnavailableError. */
function unavailableAs<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw storageError(error)
  }
}

function rethrowUnavailable(error: unknown): never {
  throw storageError(error)
}

/** The embedded backend: one SQLite file in WAL mode, every statement prepared once. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  private readonly db: Database.Database
  private readonly statements
  private readonly pendingQueue: PendingQueue
  /** Hand-overs this store's accepts made in another thread (takeHandover); made on first use. */
  private hot: HotQueue | undefined
  private readonly spans: SpanRollups
  /**
   * Visitor marks per day (visitor-marks.ts): in memory up to a limit, past it in an indexed
   * table. Only the latest MARK_DAYS_LOADED days stay loaded; an older day is read back if it
   * is touched again.
   */
  private readonly marks: VisitorMarks
  /** The last sweep's hourly cutoff (IngestUnit.hourlyDimensionsFrom); none before a sweep. */
  private hourlyDimensionsFrom = Number.NEGATIVE_INFINITY
  /** The sessions' lookup indexes are dropped for a bulk load (lookup-indexes.ts). */
  private lookupIndexesDropped = false
  /** Serialises units of work: one write transaction at a time. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly commits: RollupCommit
  private readonly rollupWriteFault: () => RollupWriteStep | undefined
  private readonly now: () => number
  private readonly commitThread: CommitThread | undefined
  /** Settles once every write handed to the commit thread has; never rejects. */
  private written: Promise<void> = Promise.resolve()
  /** The first write the thread failed: the store writes nothing more after it. */
  private writeFailure: Error | undefined

  constructor(options: SqliteStoreOptions) {
    if (options.file === ':memory:' || options.file === '') {
      throw new Error('SqliteStore: a database file path is required')
    }
    mkdirSync(dirname(options.file), { recursive: true })
    this.db = openConnection(options.file, options)
    try {
      migrate(this.db)
    } catch (error) {
      this.db.close()
      throw error
    }
    // A bulk load that crashed left its indexes dropped.
    buildLookupIndexes(this.db)
    this.statements = this.prepare()
    this.pendingQueue = new PendingQueue(this.db)
    this.spans = new SpanRollups(this.db)
    this.marks = new VisitorMarks(this.db, {
      memoryMarks: options.memoryMarks ?? DEFAULT_MEMORY_MARKS,
      daysLoaded: MARK_DAYS_LOADED,
    })
    this.commits = new RollupCommit(this.db, this.spans, this.pendingQueue)
    this.rollupWriteFault = options.rollupWriteFault ?? (() => undefined)
    this.now = options.now ?? Date.now
    // What the commit thread opens its connection with: plain data (a clock cannot cross).
    const { rollupWriteFault, commitThread, memoryMarks, now, ...connection } = options
    this.commitThread = commitThread ? new CommitThread(connection) : undefined
  }

  private prepare() {
    const db = this.db
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
      toDeadLetter: db.prepare(
        `INSERT OR REPLACE INTO ingest_dead_letter (seq, payload, reason, failed_at)
         VALUES (?, ?, ?, ?)`,
      ),
      insertEvent: db.prepare(INSERT_EVENT_SQL),
      sessionsOverlapping: db.prepare(
        `SELECT * FROM sessions WHERE site_id = ? AND client_session_id = ?
         AND start_time <= ? AND end_time >= ? ORDER BY start_time`,
      ),
      countersVersion: db.prepare('SELECT version FROM counters_version WHERE site_id = ?').pluck(),
      sessionById: db.prepare('SELECT * FROM sessions WHERE id = ?'),
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
         FROM events WHERE site_id = ? AND timestamp >= ? ORDER BY timestamp DESC LIMIT ?`,
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
    // Small and append-only: the events key starts with the time, and the whole accept is one
    // queue row. Immediate: the queue's seq counter is read, then moved, under the write lock.
    return unavailableAs(() =>
      this.db
        .transaction(() => {
          const items: QueuedItem[] = []
          const fresh = events.map((event) => {
            if (s.insertEvent.run(...eventRowValues(event)).changes !== 1) return false
            items.push({ kind: 'event', event })
            return true
          })
          for (const hit of bots) items.push({ kind: 'bot', hit })
          // Read under the write lock, so accept times rise with the queue's seqs.
          const { packed } = this.pendingQueue.append(items, this.now())
          // The queue row's own text is the hand-over (packed-item.ts): written once.
          return packed ? { fresh, handover: packed as unknown as Handover } : { fresh }
        })
        .immediate(),
    )
  }

  takeHandover(handover: Handover): HandoverTaken {
    this.hot ??= new HotQueue()
    return this.hot.pushChunk(handover as unknown as PackedBatch)
  }

  async pending(limit: number): Promise<RollupEntry[]> {
    // After every unit handed to this store, so what they retired is gone.
    await this.queue
    await this.written
    const hot = this.hot
    const taken: QueuedEntry[] = unavailableAs(
      () =>
        (hot && hot.size > 0 ? hot.take(this.pendingQueue.head(), limit) : null) ??
        this.pendingQueue.read(limit),
    )
    return taken.map(({ seq, item }) => ({ stream: QUEUE_STREAM, position: String(seq), item }))
  }

  async backlog(): Promise<number> {
    return this.pendingQueue.length()
  }

  async oldestPendingAcceptedAt(): Promise<number | null> {
    return this.pendingQueue.oldestAcceptedAt()
  }

  async deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void> {
    if (entry.stream !== QUEUE_STREAM) {
      throw new Error(`SqliteStore.deadLetter: no stream ${entry.stream}`)
    }
    const seq = Number(entry.position)
    const s = this.statements
    unavailableAs(() =>
      this.db
        .transaction(() => {
          const removed = this.pendingQueue.remove(seq)
          if (!removed) return
          // The item as keyed JSON, readable on its own.
          s.toDeadLetter.run(seq, JSON.stringify(removed), reason, at)
        })
        .immediate(),
    )
  }

  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runUnit(work)).catch(rethrowUnavailable)
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * A roll-up unit reads and computes outside any transaction and holds the write lock only
   * for `write`: this store is the only writer of sessions, marks and counters and the only
   * remover of queue entries, so what it read cannot change underneath it, while accepts
   * (appends to events and the queue, from another connection) go on meanwhile.
   */
  private async runUnit<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    if (this.writeFailure) throw this.writeFailure
    const s = this.statements
    // Between units, with no write in flight: a day over the memory limit moves to the table.
    if (this.marks.overLimit) {
      await this.written
      await this.marks.moveLargestDay()
    }
    // Marks claimed by this unit: written by `write`, taken back out of memory if it fails.
    const claimed = newUnitMarks()
    const giveBack = () => this.marks.giveBack(claimed)
    const unit: RollupUnit = {
      hourlyDimensionsFrom: this.hourlyDimensionsFrom,
      // Reads see every write handed over before them.
      appliedThrough: async (streams) => {
        await this.written
        const applied = new Map<string, string>()
        const retired = this.pendingQueue.retiredThrough()
        if (streams.includes(QUEUE_STREAM) && retired > 0) {
          applied.set(QUEUE_STREAM, String(retired))
        }
        return applied
      },
      sessionsFor: async (lookups: readonly SessionLookup[]) => {
        await this.written
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
      claimMarks: async (marks) => {
        // A day read back from the file must hold what writes in flight add to it.
        if (marks.some((m) => !this.marks.loaded(m.day))) await this.written
        return marks.map((m) =>
          this.marks.claim(m.day, markHash(m.site_id, m.scope, m.visitor_id), claimed),
        )
      },
      write: async ({ sessions, removedSessions = [], deltas, events = [], through = [] }) => {
        let processedThrough: number | undefined
        for (const { stream, position } of through) {
          if (stream !== QUEUE_STREAM) throw new Error(`SqliteStore: no stream ${stream}`)
          processedThrough = Math.max(processedThrough ?? 0, Number(position))
        }
        const { blocks, tableRows } = this.marks.rows(claimed)
        const write = unitRows({
          marks: blocks,
          markRows: tableRows,
          sessions,
          removedSessions,
          events,
          deltas,
          processedThrough,
          failAt: this.rollupWriteFault(),
        })
        if (!this.commitThread) {
          try {
            this.commits.write(write)
          } catch (error) {
            giveBack()
            throw error
          }
          clearUnitMarks(claimed)
          this.marks.unloadOldDays()
          return
        }
        // Handed over: a failure from here on stops the store rather than giving marks back.
        clearUnitMarks(claimed)
        const committed = this.commitThread.write(write)
        this.written = committed.then(
          () => {
            // The thread's spans moved on: what this connection cached of them is stale.
            this.spans.forget()
            this.marks.unloadOldDays()
          },
          (error: Error) => {
            this.writeFailure ??= error
          },
        )
        return committed
      },
    }
    try {
      return await work(unit)
    } catch (error) {
      giveBack()
      this.spans.forget()
      throw error
    }
  }

  async createSite(site: Site): Promise<void> {
    unavailableAs(() => this.statements.insertSite.run(site))
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
    unavailableAs(() => this.statements.setApiKey.run(apiKey, id))
  }

  async dailySalt(day: string): Promise<string> {
    return unavailableAs(() => {
      this.statements.insertSalt.run(day, randomBytes(32).toString('base64url'))
      return this.statements.saltOf.get(day) as string
    })
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
    checkTopValuesQuery(query, 'SqliteStore.topValues')
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

  async liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    return (this.statements.liveEvents.all(siteId, since, limit) as LiveEvent[]).reverse()
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.statements.getSetting.get(name) as string | undefined
  }

  async initSetting(name: string, value: string): Promise<string> {
    return unavailableAs(() => {
      this.statements.initSetting.run(name, value)
      return this.statements.getSetting.get(name) as string
    })
  }

  async putSetting(name: string, value: string): Promise<void> {
    unavailableAs(() => this.statements.putSetting.run(name, value))
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.sweepNow(policy).catch(rethrowUnavailable)
  }

  private async sweepNow(policy: SweepPolicy): Promise<SweepResult> {
    await this.written
    const s = this.statements
    const keepDaysFrom = utcDay(policy.now - MARK_KEEP_DAYS * 86_400_000)
    const hourCutoff = hourBucket(policy.now) - HOURLY_DIMENSION_KEEP_HOURS
    this.hourlyDimensionsFrom = Math.max(this.hourlyDimensionsFrom, hourCutoff)
    const siteIds = (s.allSites.all() as Site[]).map((site) => site.id)
    // Raw events go in chunks, each its own short transaction, so a large sweep never holds
    // the write lock long enough to make accepts wait (or time out) behind it.
    // An event still waiting for the roll-up (one sent late, with an old time) is kept until
    // it is rolled up.
    const oldestQueued = this.pendingQueue.oldestEvent()
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
      marks: this.marks.sweep(keepDaysFrom),
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
    unavailableAs(() => this.statements.ping.get())
  }

  async beginBulkLoad(): Promise<void> {
    await this.queue
    await this.written
    dropLookupIndexes(this.db)
    this.lookupIndexesDropped = true
  }

  async endBulkLoad(): Promise<void> {
    await this.queue
    await this.written
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
    await this.written
    await this.commitThread?.close()
    this.ensureLookupIndexes()
    this.db.close()
  }
}
