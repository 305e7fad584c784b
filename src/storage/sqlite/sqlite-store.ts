import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import { markHash } from '../../core/mark-hash.ts'
import type { BotHit, EnrichedEvent, SessionState, Site } from '../../core/types.ts'
import type { RecordSession } from '../../record/session-record.ts'
import { LatestWrite } from '../latest-write.ts'
import type {
  Accepted,
  EventRecord,
  Handover,
  HandoverTaken,
  LiveEvent,
  RollupEntry,
  RollupRange,
  RollupRow,
  RollupUnit,
  SessionLookup,
  SetAside,
  Store,
  StreamPosition,
  SweepPolicy,
  SweepResult,
  TopValuesQuery,
  UserDataDeleted,
  UserSessionsQuery,
} from '../store.ts'
import { CommitThread } from './commit-thread.ts'
import { type ConnectionOptions, rethrowUnavailable, unavailableAs } from './connection.ts'
import { SqliteCounterReads } from './counter-reads.ts'
import { SqliteDirectory } from './directory.ts'
import { HotQueue } from './hot-queue.ts'
import { SqliteIntake } from './intake.ts'
import { buildLookupIndexes, LookupIndexes } from './lookup-indexes.ts'
import type { PackedBatch, QueuedEntry } from './packed-item.ts'
import { PendingQueue } from './pending-queue.ts'
import { lastSeq, queueEntry, queueSeq, uncountedAfter } from './queue-stream.ts'
import { SqliteRecentEvents } from './recent-events.ts'
import { type RecordIdentity, SqliteRecordReads } from './record-reads.ts'
import { RollupCommit, type RollupWriteStep, unitRows } from './rollup-commit.ts'
import { SqliteSessionReads } from './session-reads.ts'
import { SpanRollups } from './span-rollups.ts'
import { SqliteUpkeep } from './upkeep.ts'
import { openUsableDatabase } from './usable-database.ts'
import { SqliteUserErasure } from './user-erasure.ts'
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
   * unit returning before its write is committed (RollupUnit.write) lets the next unit be
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
  /**
   * Where the outcome of this store's latest accept or roll-up write is kept (latest-write.ts):
   * memory the stores of other threads on the same file share, so `health` here sees their
   * writes fail. A buffer of this store's own when absent.
   */
  latestWrite?: SharedArrayBuffer
}

/**
 * Days of visitor marks kept loaded. Live traffic touches at most three days (24 hours across
 * time zones); a history import moves forward, so a month's import never holds the month.
 */
const MARK_DAYS_LOADED = 6

/**
 * The embedded backend: one SQLite file in WAL mode, every statement prepared once. Each role
 * that only needs the connection is a part of its own (intake.ts, counter-reads.ts,
 * directory.ts, upkeep.ts…); what stays here keeps the order of the writes: roll-up units
 * one at a time, the commit thread, and what waits for them.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  private readonly db: Database.Database
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
  /** The sessions' lookup indexes are dropped for a bulk load (lookup-indexes.ts). */
  private readonly lookupIndexes: LookupIndexes
  private readonly intake: SqliteIntake
  private readonly counters: SqliteCounterReads
  private readonly sessions: SqliteSessionReads
  private readonly recent: SqliteRecentEvents
  private readonly record: SqliteRecordReads
  private readonly erasure: SqliteUserErasure
  private readonly directory: SqliteDirectory
  private readonly upkeep: SqliteUpkeep
  /** Serialises units of work: one write transaction at a time. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly commits: RollupCommit
  private readonly rollupWriteFault: () => RollupWriteStep | undefined
  private readonly commitThread: CommitThread | undefined
  /** Settles once every write handed to the commit thread has; never rejects. */
  private written: Promise<void> = Promise.resolve()
  /**
   * What rewrote a site's past record in this process (a user's deletion, a bulk load): what
   * the record's in-memory columns (record/record-columns.ts) check before reusing closed days.
   * An import from the command line runs with the server stopped, so memory is a fresh start.
   */
  private readonly recordRewrites = new Map<string, number>()
  private bulkLoads = 0
  /** The first write the thread failed: the store writes nothing more after it. */
  private writeFailure: Error | undefined
  private readonly latestWrite: LatestWrite

  constructor(options: SqliteStoreOptions) {
    if (options.file === ':memory:' || options.file === '') {
      throw new Error('SqliteStore: a database file path is required')
    }
    mkdirSync(dirname(options.file), { recursive: true })
    this.db = openUsableDatabase(options.file, options)
    // A bulk load that crashed left its indexes dropped.
    buildLookupIndexes(this.db)
    this.lookupIndexes = new LookupIndexes(this.db)
    this.pendingQueue = new PendingQueue(this.db)
    this.spans = new SpanRollups(this.db)
    this.marks = new VisitorMarks(this.db, {
      memoryMarks: options.memoryMarks ?? DEFAULT_MEMORY_MARKS,
      daysLoaded: MARK_DAYS_LOADED,
    })
    this.intake = new SqliteIntake(this.db, this.pendingQueue, options.now ?? Date.now)
    this.counters = new SqliteCounterReads(this.db, this.spans)
    this.sessions = new SqliteSessionReads(this.db, this.lookupIndexes)
    this.recent = new SqliteRecentEvents(this.db)
    this.record = new SqliteRecordReads(this.db)
    this.erasure = new SqliteUserErasure(this.db)
    this.directory = new SqliteDirectory(this.db)
    this.upkeep = new SqliteUpkeep(this.db, {
      directory: this.directory,
      intake: this.intake,
      pendingQueue: this.pendingQueue,
      marks: this.marks,
      spans: this.spans,
    })
    this.commits = new RollupCommit(this.db, this.spans, this.pendingQueue)
    this.rollupWriteFault = options.rollupWriteFault ?? (() => undefined)
    this.latestWrite = new LatestWrite(options.latestWrite)
    // What the commit thread opens its connection with: plain data (a clock cannot cross).
    const { rollupWriteFault, commitThread, memoryMarks, now, latestWrite, ...connection } = options
    this.commitThread = commitThread ? new CommitThread(connection) : undefined
  }

  // Intake
  accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    return this.latestWrite.track(() => this.intake.accept(events, bots))
  }
  dailySalt(day: string): Promise<string> {
    return this.intake.dailySalt(day)
  }

  // RollupQueue and RollupProgress
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
    return taken.map(queueEntry)
  }

  async deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void> {
    const seq = queueSeq(entry, 'SqliteStore.deadLetter')
    unavailableAs(() => this.pendingQueue.deadLetter(seq, reason, at))
  }

  async backlog(): Promise<number> {
    return this.pendingQueue.length()
  }

  async oldestPendingAcceptedAt(): Promise<number | null> {
    return this.pendingQueue.oldestAcceptedAt()
  }

  async setAside(): Promise<SetAside | null> {
    return this.pendingQueue.setAside()
  }

  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    const run = this.latestWrite.track(() =>
      this.queue.then(() => this.runUnit(work)).catch(rethrowUnavailable),
    )
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
    // Between units, with no write in flight: a day over the memory limit moves to the table.
    if (this.marks.overLimit) {
      await this.written
      await this.marks.moveLargestDay()
    }
    // Marks claimed by this unit: written by `write`, taken back out of memory if it fails.
    const claimed = newUnitMarks()
    const giveBack = () => this.marks.giveBack(claimed)
    const unit: RollupUnit = {
      hourlyDimensionsFrom: this.upkeep.hourlyDimensionsFrom,
      // Reads see every write handed over before them.
      uncounted: async (entries) => {
        await this.written
        return uncountedAfter(entries, this.pendingQueue.retiredThrough(), 'SqliteStore')
      },
      sessionsFor: async (lookups: readonly SessionLookup[]) => {
        await this.written
        return this.sessions.overlapping(lookups)
      },
      claimMarks: async (marks) => {
        // A day read back from the file must hold what writes in flight add to it.
        if (marks.some((m) => !this.marks.loaded(m.day))) await this.written
        return marks.map((m) =>
          this.marks.claim(m.day, markHash(m.site_id, m.scope, m.visitor_id), claimed),
        )
      },
      write: async ({
        sessions,
        removedSessions = [],
        deltas,
        events = [],
        record = [],
        through = [],
      }) => {
        const processedThrough = lastSeq(through)
        const { blocks, tableRows } = this.marks.rows(claimed)
        const write = unitRows({
          marks: blocks,
          markRows: tableRows,
          sessions,
          removedSessions,
          events,
          deltas,
          record,
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

  // CounterReads
  countersVersion(siteId: string): Promise<number> {
    return this.counters.countersVersion(siteId)
  }
  readRollups(range: RollupRange): Promise<RollupRow[]> {
    return this.counters.readRollups(range)
  }
  topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    return this.counters.topValues(query)
  }

  // SessionReads and RecentEvents
  getSession(id: string): Promise<SessionState | undefined> {
    return this.sessions.getSession(id)
  }
  findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    return this.sessions.findSession(site_id, client_session_id, at)
  }
  sessionEvents(sessionId: string): Promise<EventRecord[]> {
    return this.sessions.sessionEvents(sessionId)
  }
  userSessions(query: UserSessionsQuery): Promise<SessionState[]> {
    return this.sessions.userSessions(query)
  }
  liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    return this.recent.liveEventsSince(siteId, since, limit)
  }

  // RecordReads
  recordSessions(siteId: string, from: number, to: number): Promise<RecordSession[]> {
    return this.record.recordSessions(siteId, from, to)
  }
  recordSince(siteId: string): Promise<number | null> {
    return this.record.recordSince(siteId)
  }
  /** The site's record as a saved copy of its columns is checked against (RecordIdentity). */
  recordIdentity(siteId: string): RecordIdentity | null {
    return this.record.identity(siteId)
  }
  /** Changes whenever this process rewrote the site's past record (see `recordRewrites`). */
  recordGeneration(siteId: string): string {
    return `${this.bulkLoads}.${this.recordRewrites.get(siteId) ?? 0}`
  }

  // UserErasure
  deleteUserData(siteId: string, userId: string): Promise<UserDataDeleted> {
    // Between roll-up units: a unit that read the user's session before the delete would
    // otherwise write it back.
    const run = this.queue.then(async () => {
      await this.written
      this.lookupIndexes.ensure()
      try {
        return unavailableAs(() => this.erasure.deleteUserData(siteId, userId))
      } finally {
        this.recordRewrites.set(siteId, (this.recordRewrites.get(siteId) ?? 0) + 1)
      }
    })
    this.queue = run.catch(() => undefined)
    return run.catch(rethrowUnavailable)
  }

  // SiteDirectory and Settings
  createSite(site: Site): Promise<void> {
    return this.directory.createSite(site)
  }
  getSite(id: string): Promise<Site | undefined> {
    return this.directory.getSite(id)
  }
  getSiteByApiKey(apiKey: string): Promise<Site | undefined> {
    return this.directory.getSiteByApiKey(apiKey)
  }
  listSites(): Promise<Site[]> {
    return this.directory.listSites()
  }
  setSiteApiKey(id: string, apiKey: string): Promise<void> {
    return this.directory.setSiteApiKey(id, apiKey)
  }
  getSetting(name: string): Promise<string | undefined> {
    return this.directory.getSetting(name)
  }
  initSetting(name: string, value: string): Promise<string> {
    return this.directory.initSetting(name, value)
  }
  putSetting(name: string, value: string): Promise<void> {
    return this.directory.putSetting(name, value)
  }

  // BulkLoad
  async beginBulkLoad(): Promise<void> {
    await this.queue
    await this.written
    this.bulkLoads++
    this.markRecordRewritten()
    this.lookupIndexes.drop()
  }

  /** A bulk load may write any site's past: every saved copy of columns is out of date. */
  private markRecordRewritten(): void {
    this.db.prepare('UPDATE record_sites SET rewrites = rewrites + 1').run()
  }

  async endBulkLoad(): Promise<void> {
    await this.queue
    await this.written
    this.bulkLoads++
    // After as well as before: sites whose record the load began count as rewritten too.
    this.markRecordRewritten()
    this.lookupIndexes.ensure()
  }

  // StorageHealth and Upkeep
  async health(): Promise<void> {
    await this.upkeep.health()
    this.latestWrite.check()
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.sweepNow(policy).catch(rethrowUnavailable)
  }

  private async sweepNow(policy: SweepPolicy): Promise<SweepResult> {
    await this.written
    return this.upkeep.sweep(policy)
  }

  async close(): Promise<void> {
    await this.queue
    await this.written
    await this.commitThread?.close()
    this.lookupIndexes.ensure()
    this.db.close()
  }
}
