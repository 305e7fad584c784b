import type { RowDimension } from '../core/rollup-deltas.ts'
import {
  type BotHit,
  COUNTER_NAMES,
  type Counters,
  type EnrichedEvent,
  type RollupDelta,
  type RollupEvent,
  type RollupKey,
  type SessionState,
  type Site,
  type VisitorMark,
} from '../core/types.ts'
import type { RecordReads } from '../record/session-record.ts'

/**
 * Thrown by a backend when storage cannot be used for now, whatever the data: another writer
 * holds the lock past the wait, the disk is full, an I/O error. The call changed nothing and
 * the same call may succeed later, so a request answers 503 with Retry-After and the roll-up
 * retries; an item is moved to the dead letters only for a failure of its own, never for
 * this (a full disk lasting a few roll-up runs would otherwise drop items from the counters).
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageUnavailableError'
  }
}

/**
 * Thrown by a unit's `write` before it writes anything, when the backend cannot apply so
 * wide a unit atomically (DynamoDB: what one transaction may hold). The roll-up then counts
 * the batch in halves, in order; nothing of the refused unit is visible.
 */
export class UnitTooWideError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnitTooWideError'
  }
}

/**
 * The fields of a raw event as stored, for session timelines and the live view, in the order
 * the SQLite events table keeps them. They include what the live view shows (source, country,
 * device) so neither needs a join.
 */
export const EVENT_RECORD_FIELDS = [
  'site_id',
  'event_id',
  'client_session_id',
  'timestamp',
  'event_type',
  'page_url',
  'path',
  'title',
  'referrer',
  'user_id',
  'visitor_id',
  'props',
  'engagement_ms',
  'source',
  'country',
  'device',
  'browser',
] as const satisfies readonly (keyof EnrichedEvent)[]

/** A raw event as stored: an enriched event's stored fields. */
export type EventRecord = Pick<EnrichedEvent, (typeof EVENT_RECORD_FIELDS)[number]>

/** Sessions of one client session id that overlap [from, to]. */
export interface SessionLookup {
  site_id: string
  client_session_id: string
  from: number
  to: number
}

/**
 * An accepted event as it waits for the roll-up: what the roll-up reads, its id, and its
 * props for the record (record/session-record.ts). The raw event record keeps the rest (page
 * URL, title, referrer) for timelines.
 */
export type QueuedEvent = RollupEvent & Pick<EnrichedEvent, 'event_id' | 'props'>

/**
 * What the roll-up hands `RollupUnit.write` of each event for the record, before the record's
 * limits (record/property-limits.ts), which the store applies with its state of the day.
 */
export type RecordInput = Pick<
  QueuedEvent,
  | 'site_id'
  | 'timezone'
  | 'client_session_id'
  | 'timestamp'
  | 'event_id'
  | 'event_type'
  | 'path'
  | 'props'
>

/** Waiting to be rolled up: an accepted event, or a bot hit that is only counted. */
export type QueuedItem = { kind: 'event'; event: QueuedEvent } | { kind: 'bot'; hit: BotHit }

/** When a queued item happened: its event's time, or its bot hit's. */
export function itemTime(item: QueuedItem): number {
  return item.kind === 'event' ? item.event.timestamp : item.hit.timestamp
}

/**
 * A place in one of the ordered sources that feed the roll-up: `stream` names the source (the
 * SQLite queue is one stream; a DynamoDB table stream has one per shard) and `position` an
 * item's place in it, a decimal number as text of any length (DynamoDB sequence numbers run
 * to 40 digits), ordered by `comparePositions` (core/stream-position.ts). Opaque otherwise:
 * the pipelines compare and record positions, they never compute one.
 */
export interface StreamPosition {
  stream: string
  position: string
}

/** An accepted item with its place in its stream. */
export interface RollupEntry extends StreamPosition {
  item: QueuedItem
  /**
   * Where the item is stored, for a backend that counts each item by its own identity rather
   * than by positions (DynamoDB: the Events item's partition, one tracker session, and its
   * sort key). A queue of the backend's own leaves it out.
   */
  origin?: { partition: string; id: string }
}

declare const handoverBrand: unique symbol
/**
 * What one `accept` queued, in a form the same backend's roll-up can take back from memory
 * (`Store.takeHandover`) instead of reading it back from storage. Opaque to the pipelines,
 * which only carry it from the accept to the roll-up (across a thread: it is plain data).
 */
export type Handover = { readonly [handoverBrand]: true }

/**
 * What `accept` did: per event whether it was new; and, from a backend that offers it, the
 * hand-over of what it queued.
 */
export interface Accepted {
  fresh: boolean[]
  handover?: Handover
}

/** What became of a hand-over: held, or left to storage (memory full, or one was missed). */
export type HandoverTaken = 'held' | 'full' | 'gap'

/**
 * One roll-up unit of work, batch-shaped so every backend can answer each step with one
 * round of reads or writes. The pipeline (rollup/roll-up-batch.ts) calls the steps in order:
 * uncounted → sessionsFor → claimMarks → write.
 *
 * **A unit counts once, whatever fails.** `write` is all or nothing as far as any later
 * unit can tell. A backend that can apply a whole unit atomically (SQLite: one transaction)
 * does so. A backend that cannot (DynamoDB: 100 items per transaction, and `ADD` is not
 * idempotent) must persist the unit's computed output, its plan (sessions, removed sessions,
 * deltas, the marks it claimed, the positions), in one atomic write before applying any of
 * it, apply the plan so that applying it twice changes nothing more, and finish any plan left
 * unfinished before the next unit reads anything. Recomputing a half-applied unit is not
 * allowed: it would read the sessions and marks the half-done write already changed (and draw
 * new random session ids), so visitors and sessions would be lost or doubled. Until `write`
 * succeeds, nothing a unit did may be visible: `claimMarks` answers from what is stored and
 * claimed in this unit, and records nothing a failed unit could leave behind. The contract
 * suite fails a write half-way (the backend's fault hook) and checks that the redo counts
 * exactly what one clean run counts.
 */
export interface RollupUnit {
  /**
   * The first epoch hour whose hourly dimension rows the store still keeps: its last sweep's
   * cutoff. Rows for older hours would only be swept again, so the roll-up skips them.
   */
  readonly hourlyDimensionsFrom: number
  /**
   * The entries of a batch that are not counted yet, in their order: a batch delivered again
   * (a Lambda retry, a split batch, a replay) counts only what it did not count before. A
   * backend with a queue of its own answers by each stream's recorded position; one fed by
   * deliveries it cannot order (a DynamoDB stream) by each entry's own identity.
   */
  uncounted(entries: readonly RollupEntry[]): Promise<RollupEntry[]>
  sessionsFor(lookups: readonly SessionLookup[]): Promise<SessionState[]>
  /** Claims each mark; true where it was new (this visitor's first time in that scope). */
  claimMarks(marks: readonly VisitorMark[]): Promise<boolean[]>
  /**
   * Writes sessions and counter deltas, and records each stream's position `through` (its
   * items are rolled up: a backend with a queue retires them). A history import rolls up
   * straight from its input and records nothing.
   */
  write(changes: {
    sessions: readonly SessionState[]
    /** Ids of stored sessions merged into another (their events now belong to it). */
    removedSessions?: readonly string[]
    deltas: readonly RollupDelta[]
    /**
     * Raw records of imported events, stored without a queue entry because these deltas
     * already count them; one already stored (same site, time and event_id) is left as is.
     */
    events?: readonly EnrichedEvent[]
    /**
     * The unit's events for the record (record/session-record.ts), in the order counted:
     * kept for good, once per (site, client session, time, event_id), so a unit redone or
     * delivered again adds nothing.
     */
    record?: readonly RecordInput[]
    through?: readonly StreamPosition[]
  }): Promise<void>
}

/** One rollup row: a bucket of one dimension value, with its counters. */
export interface RollupRow extends Counters {
  bucket: number | string
  dim: string
  value: string
}

export interface RollupRange {
  grain: RollupKey['grain']
  site_id: string
  dim: RowDimension
  /** Inclusive bounds: epoch hours for `hour`, "YYYY-MM-DD" for `day`. */
  from: number | string
  to: number | string
  /** Only this dimension value (a filter); all values when absent. */
  value?: string
}

export type CounterName = keyof Counters

/**
 * Refuses a top-values query that names a counter there is not, or reads fewer counters
 * than it orders by; every backend checks before it runs one (SQLite before a name becomes
 * part of SQL). `where` names the backend in the message.
 */
export function checkTopValuesQuery(query: TopValuesQuery, where: string): void {
  for (const name of [query.orderBy, ...(query.counters ?? [])]) {
    if (!COUNTER_NAMES.includes(name)) throw new Error(`${where}: unknown counter ${name}`)
  }
  if (query.counters && !query.counters.includes(query.orderBy)) {
    throw new Error(`${where}: counters must include ${query.orderBy}`)
  }
}

/** Rows of a dimension summed over a range, per value, largest first. */
export interface TopValuesQuery extends Omit<RollupRange, 'value'> {
  orderBy: CounterName
  limit: number
  /**
   * The counters the caller reads (it must include `orderBy`); the others come back as 0.
   * All when absent. Summing only what a table shows halves the work of the long ones.
   */
  counters?: readonly CounterName[]
}

/** What the live view needs of a recent event; rebuilt from storage after a restart. */
export interface LiveEvent {
  site_id: string
  /** The tracker's session id (sessions proper are assigned later, by the roll-up). */
  session_id: string
  visitor_id: string
  timestamp: number
  event_type: string
  path: string
  title: string
  source: string
  country: string
  device: string
  browser: string
}

export interface UserSessionsQuery {
  site_id: string
  user_id: string
  limit: number
  /** Only sessions that started before this time (pagination cursor). */
  before?: number
}

export interface SweepPolicy {
  now: number
  eventTtlMs: number
}

export interface SweepResult {
  events: number
  marks: number
  hourly_dimension_rows: number
  salts: number
}

/**
 * The roles a backend plays, each named after what its consumers do with it: a consumer takes
 * only the roles it calls (the accept stage an `Intake`, the stats queries `CounterReads`…),
 * so what a change to one role touches is visible from the types. `Store` is their
 * combination: what a full backend implements and what `entry/` hands around. A write that
 * fails because storage is unavailable for now rejects with StorageUnavailableError.
 *
 * A backend that serves a read-only dashboard (counters computed elsewhere) needs only
 * `CounterReads`, `SiteDirectory`, `Settings`, `RecentEvents` and `StorageHealth` (plus
 * `SessionReads` for timelines); docs/design.md names the contract suite of each role.
 */

/** The accept stage's side, on the request path: store what arrived, durably, once. */
export interface Intake {
  /**
   * Durably stores new events (the raw record, and an entry in the backend's stream for the
   * roll-up) and bot hits (an entry only). An event whose (site, timestamp, event_id) is
   * already stored is a duplicate and is skipped, or, by a backend that stores collector
   * requests whole (DynamoDB), stored again when it comes in another request, and counted once
   * by the roll-up all the same. Returns, per event, whether it was new. `requests`: how many
   * of `events` each collector request holds, in order, where one accept holds several (a
   * group commit); absent, the events are one request.
   */
  accept(
    events: readonly EnrichedEvent[],
    bots: readonly BotHit[],
    requests?: readonly number[],
  ): Promise<Accepted>
  /** The salt of one day, created on first use; deleted by `sweep` once the day is over. */
  dailySalt(day: string): Promise<string>
}

/** The roll-up stage's side: take what waits, count it once, set aside what cannot be. */
export interface RollupQueue {
  /**
   * Optional: takes back, in the roll-up's process, what an accept of this backend handed
   * over, so `pending` can serve it from memory. A backend without it reads everything back.
   */
  takeHandover?(handover: Handover): HandoverTaken
  /**
   * The oldest accepted items not rolled up yet, at most `limit`, in acceptance order within
   * each stream: the roll-up's pulled source. (A pushed source, a Lambda handed a batch of
   * stream records, skips this and rolls its batch up directly.)
   */
  pending(limit: number): Promise<RollupEntry[]>
  /** Runs one roll-up unit of work (see RollupUnit for what a backend must guarantee). */
  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T>
  /**
   * Moves one pending item that the roll-up keeps failing on aside, with the reason, so it
   * cannot hold up everything behind it. It is kept for inspection, not lost; the raw event
   * stays stored too.
   */
  deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void>
}

/** How far the roll-up trails the accept stage: for `/api/stats`, `/health` and `/metrics`. */
export interface RollupProgress {
  /** How many accepted items wait for the roll-up. */
  backlog(): Promise<number>
  /**
   * When the oldest item still waiting for the roll-up was accepted (epoch ms, by the clock
   * the backend's accepts record their time by); null when nothing waits. How far the counters
   * trail ingestion: `backlog` alone cannot say whether 10,000 items are a second's or an
   * hour's worth.
   */
  oldestPendingAcceptedAt(): Promise<number | null>
  /**
   * What the roll-up set aside (RollupQueue.deadLetter), which the counters therefore miss:
   * how many items, and the earliest event time among them; null when nothing is set aside.
   * The dashboard and `/api/stats` say from then on counts are incomplete.
   */
  setAside(): Promise<SetAside | null>
}

/** Items the roll-up set aside: how many, and the earliest event time among them (epoch ms). */
export interface SetAside {
  items: number
  since: number
}

/** The stats queries' side: counters by site, grain, dimension and bucket. */
export interface CounterReads {
  /**
   * A number that grows whenever a write changes the site's counters (0 before the first):
   * a cached stats answer is good while it is unchanged.
   */
  countersVersion(siteId: string): Promise<number>
  /** Rollup rows of one dimension in a range, ordered by bucket then value. */
  readRollups(range: RollupRange): Promise<RollupRow[]>
  /** A dimension's values summed over a range (bucket is ""), ordered by a counter. */
  topValues(query: TopValuesQuery): Promise<RollupRow[]>
}

/** The timelines' side: stored sessions and their raw events. */
export interface SessionReads {
  getSession(id: string): Promise<SessionState | undefined>
  /**
   * The session of a tracker session id that contains `at`, else the nearest one in time:
   * the live feed knows only the tracker's id and the event time, not the stored session.
   */
  findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined>
  /** A session's events in time order (only while they are within the event TTL). */
  sessionEvents(sessionId: string): Promise<EventRecord[]>
  /** A site's identified user's sessions, newest first. */
  userSessions(query: UserSessionsQuery): Promise<SessionState[]>
}

/** What deleting an identified user's data removed (UserErasure). */
export interface UserDataDeleted {
  sessions: number
  /** Events of the record. */
  events: number
  /** Raw events still within their TTL. */
  raw_events: number
}

/** A person's request to be forgotten: `DELETE /api/users/{id}?site=…`. */
export interface UserErasure {
  /**
   * Deletes a site's identified user's sessions, their events in the record and their raw
   * events (the events of those sessions, and any raw event that carries the user id). The
   * counters stay: they hold sums by page, source and the like, nothing that names a user.
   * Deleting again finds nothing more.
   */
  deleteUserData(siteId: string, userId: string): Promise<UserDataDeleted>
}

/** The live view's side: the recent events it rebuilds its window from. */
export interface RecentEvents {
  /**
   * One site's events since a time, oldest first, at most the `limit` latest of them: the
   * live view's first read, and the whole realtime read of a host that keeps no window. One
   * range of one site's keys (a `Query` on DynamoDB), never a scan of every site's recent
   * events; the limit keeps a flooded site's half hour from being read into memory whole.
   */
  liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]>
}

/** Sites and their ingest keys: the collector finds a site by key, the dashboard lists them. */
export interface SiteDirectory {
  createSite(site: Site): Promise<void>
  getSite(id: string): Promise<Site | undefined>
  getSiteByApiKey(apiKey: string): Promise<Site | undefined>
  listSites(): Promise<Site[]>
  setSiteApiKey(id: string, apiKey: string): Promise<void>
}

/** Named values the service keeps (the password hash, the token key and generation…). */
export interface Settings {
  getSetting(name: string): Promise<string | undefined>
  /** Stores a value unless one exists; returns the value that is stored either way. */
  initSetting(name: string, value: string): Promise<string>
  putSetting(name: string, value: string): Promise<void>
}

/**
 * A history import's side: a bulk load writes sessions by the million. Until `endBulkLoad`,
 * the backend may stop keeping up indexes that serve only session lookups, and build them
 * once at the end, far cheaper than row by row. Lookups meanwhile still answer (a backend may
 * build its indexes first); a load that crashed has them rebuilt when the store next opens.
 */
export interface BulkLoad {
  beginBulkLoad(): Promise<void>
  endBulkLoad(): Promise<void>
}

/** What `/health` and `/metrics` ask of storage. */
export interface StorageHealth {
  readonly kind: 'sqlite' | 'dynamodb'
  /**
   * Throws when storage is failing: a read fails, or the latest accept or roll-up write
   * failed for a fault of the storage (StorageUnavailableError: a full disk, an I/O error,
   * throttling) within the last minute, with no write succeeding since (latest-write.ts). A
   * read alone cannot tell: a full disk still reads. As cheap as one small read.
   */
  health(): Promise<void>
}

/** Keeping storage to what is still of use, and letting it go. */
export interface Upkeep {
  /** Deletes what has outlived its use: raw events, old visitor marks and salts. */
  sweep(policy: SweepPolicy): Promise<SweepResult>
  close(): Promise<void>
}

/**
 * Everything LiveInsight persists: every role. One contract suite per role
 * (`src/testing/contract/`) runs against every implementation, so the embedded and the AWS
 * shape cannot drift apart.
 */
export interface Store
  extends Intake,
    RollupQueue,
    RollupProgress,
    CounterReads,
    SessionReads,
    RecordReads,
    UserErasure,
    RecentEvents,
    SiteDirectory,
    Settings,
    BulkLoad,
    StorageHealth,
    Upkeep {}
