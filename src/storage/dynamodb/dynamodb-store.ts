import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { StatsQuery } from '../../core/stats-query.ts'
import type { FilteredStatsReport } from '../../record/filtered-report.ts'
import { LatestWrite } from '../latest-write.ts'
import type { Store } from '../store.ts'
import { DynamoDbIntake } from './accept.ts'
import { DynamoDbColumnarReport } from './columnar-record-report.ts'
import { CounterSummaries } from './counter-summaries.ts'
import { DeadLetters } from './dead-letters.ts'
import { DynamoDbDirectory } from './directory.ts'
import type { Backoff } from './faults.ts'
import { FoldRollups } from './fold-rollups.ts'
import { FoldSegments } from './fold-segments.ts'
import { FoldWriter } from './fold-writer.ts'
import { FoldedCounterReads } from './folded-counter-reads.ts'
import { PackedDayCache } from './packed-day-cache.ts'
import { NO_PULLED_STREAM, type PulledStream } from './pulled-stream.ts'
import { DynamoDbRecentEvents } from './recent-events.ts'
import { DynamoDbRecordReads, RecordWriter } from './record.ts'
import { type PackResult, RecordPacks } from './record-packs.ts'
import { Requests, type StoreContext } from './requests.ts'
import { DAY_MS } from './retention.ts'
import { RecordedRollupLag } from './rollup-lag.ts'
import { SessionProjection } from './session-projection.ts'
import { DynamoDbSessionReads } from './session-reads.ts'
import type { TableNames } from './tables.ts'
import { UncopiedSessions } from './uncopied-sessions.ts'
import { DynamoDbUpkeep } from './upkeep.ts'
import { DynamoDbUserErasure } from './user-erasure.ts'

export interface DynamoDbStoreOptions {
  doc: DynamoDBDocumentClient
  tables: TableNames
  /** How long raw events are kept (their TTL); 24 hours by default. */
  eventTtlMs?: number
  /** The clock accepts record their time by (oldestPendingAcceptedAt). */
  now?: () => number
  /**
   * The session timeout the roll-up counts with (30 minutes unset): how long the fold keeps
   * a site's sessions in memory for late events (fold/fold-state.ts, horizons).
   */
  sessionTimeoutMs?: number
  /** Test hook: true fails the next roll-up write part-way (FoldRollups). */
  failRollupWrite?: () => boolean
  /** Compressed bytes per packed part (record-packs.ts); tests make it small. */
  packPartBytes?: number
  /**
   * Memory for packed days decoded into columns, kept between queries (packed-day-cache.ts);
   * 0 keeps none (each query reads and decodes its days). DEFAULT_PACKED_DAYS_BYTES unset.
   */
  packedDaysBytes?: number
  /** How batch leftovers are retried (faults.ts); tests shorten it. */
  backoff?: Backoff
  /**
   * The Events stream as this process reads it, where it does (the local poller's shape:
   * tests, `npm run dev:aws`): `pending`, `backlog` and `oldestPendingAcceptedAt` answer from
   * it. None on Lambda, where the event source mapping reads it (NO_PULLED_STREAM).
   */
  pulled?: PulledStream
}

/**
 * What a 512 MB function keeps of decoded packed days: a 30-day page of a site of a million
 * events a month holds about 60 MB (bench/NOTES.md), beside the app's own ~100 MB.
 */
const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60_000

export const DEFAULT_PACKED_DAYS_BYTES = 192 * 1024 * 1024

/**
 * The AWS shape's store: four DynamoDB tables (tables.ts), the Events table's stream as the
 * roll-up's queue. Keys and the argument for counting once: README.md in this folder. Each
 * role is played by a part of its own (accept.ts, rollup-unit.ts, counter-reads.ts…); the
 * store is their composition, its methods a table the compiler checks covers every role.
 *
 * TTL deadlines are set on the real clock (Date.now), never later than it, whatever clock
 * the store is given: DynamoDB deletes by the real one, so a deadline from a clock set back
 * (a test's, an import's) would have items deleted at once, while they are still needed.
 */
export class DynamoDbStore {
  readonly kind = 'dynamodb' as const

  constructor(options: DynamoDbStoreOptions) {
    const context: StoreContext = {
      doc: options.doc,
      requests: new Requests(options.doc, options.backoff),
      tables: options.tables,
      now: options.now ?? Date.now,
      eventTtlMs: options.eventTtlMs ?? DAY_MS,
    }
    const intake = new DynamoDbIntake(context)
    const pulled = options.pulled ?? NO_PULLED_STREAM
    const segments = new FoldSegments(context)
    const summaries = new CounterSummaries(context, segments)
    const rollups = new FoldRollups(
      context,
      new FoldWriter(segments, options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS, context.now),
      pulled,
      new RecordWriter(context),
      options.failRollupWrite,
    )
    const projection = new SessionProjection(context)
    const uncopied = new UncopiedSessions(segments, projection)
    const directory = new DynamoDbDirectory(context)
    // The sweep's copy of each site's windows into the Sessions table (session-projection.ts).
    const copySessions = async () => {
      const copied = { windows: 0, sessions: 0 }
      for (const site of await directory.listSites()) {
        const one = await projection.catchUp(site.id, async (after) =>
          (await segments.after(site.id, after)).map((s) => ({
            siteId: site.id,
            seq: s.seq,
            fold: s.fold,
          })),
        )
        copied.windows += one.windows
        copied.sessions += one.sessions
      }
      return copied
    }
    const deadLetters = new DeadLetters(context)
    const packs = new RecordPacks(context, uncopied, options.packPartBytes)
    const record = new DynamoDbRecordReads(context, packs, uncopied)
    const columnar = new DynamoDbColumnarReport(
      context,
      packs,
      new PackedDayCache(options.packedDaysBytes ?? DEFAULT_PACKED_DAYS_BYTES),
      record,
      uncopied,
    )
    const erasure = new DynamoDbUserErasure(context, packs, segments, uncopied)
    const counters = new FoldedCounterReads(context, segments, summaries)
    const sessions = new DynamoDbSessionReads(context, uncopied, directory, packs)
    const recent = new DynamoDbRecentEvents(context)
    const upkeep = new DynamoDbUpkeep(context, directory, pulled)
    const lag = new RecordedRollupLag(context, directory)
    // Each function's process keeps its own: /health answers for the writes of the process
    // it runs in (the collector's accepts on Lambda).
    const latestWrite = new LatestWrite()
    const roles: Omit<Store, 'kind'> &
      RollupLagRecorder &
      RecordPacker &
      ColumnarRecordReport &
      SessionCopier = {
      accept: (events, bots, requests) =>
        latestWrite.track(() => intake.accept(events, bots, requests)),
      dailySalt: (day) => intake.dailySalt(day),
      pending: (limit) => pulled.pending(limit),
      rollup: (work) => latestWrite.track(() => rollups.rollup(work)),
      deadLetter: (entry, reason, at) => deadLetters.deadLetter(entry, reason, at),
      backlog: () => pulled.backlog(),
      // Where this process reads the stream it knows what waits; on Lambda, the batches say.
      oldestPendingAcceptedAt: () =>
        options.pulled ? pulled.oldestPendingAcceptedAt() : lag.oldestPendingAcceptedAt(),
      recordRollupLag: (newestEventAt) => lag.record(newestEventAt),
      setAside: () => deadLetters.setAside(),
      countersVersion: (siteId) => counters.countersVersion(siteId),
      readRollups: (range) => counters.readRollups(range),
      topValues: (query) => counters.topValues(query),
      getSession: (id) => sessions.getSession(id),
      findSession: (siteId, client, at) => sessions.findSession(siteId, client, at),
      sessionEvents: (sessionId) => sessions.sessionEvents(sessionId),
      userSessions: (query) => sessions.userSessions(query),
      liveEventsSince: (siteId, since, limit) => recent.liveEventsSince(siteId, since, limit),
      recordSessions: (siteId, from, to) => record.recordSessions(siteId, from, to),
      recordSince: (siteId) => record.recordSince(siteId),
      columnarRecordReport: (query) => columnar.report(query),
      deleteUserData: (siteId, userId) => erasure.deleteUserData(siteId, userId),
      createSite: (site) => directory.createSite(site),
      getSite: (id) => directory.getSite(id),
      getSiteByApiKey: (apiKey) => directory.getSiteByApiKey(apiKey),
      listSites: () => directory.listSites(),
      setSiteApiKey: (id, apiKey) => directory.setSiteApiKey(id, apiKey),
      getSetting: (name) => directory.getSetting(name),
      initSetting: (name, value) => directory.initSetting(name, value),
      putSetting: (name, value) => directory.putSetting(name, value),
      // Nothing to do: DynamoDB keeps its indexes up itself, at the same cost either way.
      beginBulkLoad: async () => {},
      endBulkLoad: async () => {},
      health: async () => {
        await upkeep.health()
        latestWrite.check()
      },
      sweep: async (policy) => {
        const swept = await upkeep.sweep(policy)
        // Every site's windows since the last sweep summed into its counter summaries.
        for (const site of await directory.listSites()) {
          while ((await summaries.sum(site.id)) > 0) {}
        }
        // Then their sessions copied: a copy that fails (the run fails, and the sweeper's
        // errors alarm with it) leaves the counters summed, and readers lay the windows over.
        await copySessions()
        return swept
      },
      packRecord: async (now, deadline) => {
        // The packer finds where a site's days begin from the copy (SiteStartIndex) and reads
        // each day laid over with the windows not copied: copied first, a site whose sessions
        // are all still in windows is packed too. After the sweep (the sweeper's run), this
        // copy finds nothing new: one read of the mark and of the windows after it.
        await copySessions()
        return packs.packDue(
          (await directory.listSites()).map((s) => s.id),
          now,
          deadline,
        )
      },
      copySessions,
      close: () => rollups.settled(),
    }
    Object.assign(this, roles)
  }
}

/**
 * What the roll-up Lambda tells the store after each batch: the time of the newest event it
 * counted (rollup-lag.ts), from which `/api/stats` and `/health` read the lag.
 */
export interface RollupLagRecorder {
  recordRollupLag(newestEventAt: number): Promise<void>
}

/**
 * The scheduled packer (record-packs.ts): packs the days of each site's record that can no
 * longer change; `deadline` (epoch ms, real clock) ends a run before the function's timeout.
 */
export interface RecordPacker {
  packRecord(now: number, deadline?: number): Promise<PackResult>
}

/**
 * The record's report over columns, packed days kept decoded (columnar-record-report.ts): what
 * the AWS shape's entries hand the app as AppDeps.recordReport.
 */
export interface ColumnarRecordReport {
  columnarRecordReport(query: StatsQuery): Promise<FilteredStatsReport>
}

/**
 * The sweep's copy of the fold's sessions into the Sessions table (session-projection.ts),
 * which the sweep runs after summing, and the packer first: exposed for the cost bench, which
 * prices it.
 */
export interface SessionCopier {
  copySessions(): Promise<{ windows: number; sessions: number }>
}

/** Every role's methods, which the constructor sets from the parts that play them. */
export interface DynamoDbStore
  extends Omit<Store, 'kind'>,
    RollupLagRecorder,
    RecordPacker,
    ColumnarRecordReport,
    SessionCopier {}
