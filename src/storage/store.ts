import type {
  BotHit,
  EnrichedEvent,
  PropValue,
  RollupDelta,
  RollupEvent,
  RollupKey,
  SessionState,
  Site,
  VisitorMark,
} from '../core/types.ts'
import type { PackedBatch } from './packed-item.ts'

/**
 * A raw event as stored, for session timelines and the live view. It carries what the
 * live view shows (source, country, device) so neither needs a join.
 */
export interface EventRecord {
  site_id: string
  event_id: string
  /** The tracker's session id: with the time it finds the event's session. */
  client_session_id: string
  timestamp: number
  event_type: string
  page_url: string
  path: string
  title: string
  referrer: string
  user_id: string | null
  visitor_id: string
  props: Record<string, PropValue> | null
  engagement_ms: number | null
  source: string
  country: string
  device: string
  browser: string
}

/** Sessions of one client session id that overlap [from, to]. */
export interface SessionLookup {
  site_id: string
  client_session_id: string
  from: number
  to: number
}

/**
 * An accepted event as it waits for the roll-up: what the roll-up reads, and its id. The raw
 * event row keeps the rest (page URL, title, referrer, props) for timelines.
 */
export type QueuedEvent = RollupEvent & Pick<EnrichedEvent, 'event_id'>

/** Waiting to be rolled up: an accepted event, or a bot hit that is only counted. */
export type QueuedItem = { kind: 'event'; event: QueuedEvent } | { kind: 'bot'; hit: BotHit }

/** A queued item and its place in the queue; seqs only grow, never reused. */
export interface QueuedEntry {
  seq: number
  item: QueuedItem
}

/**
 * What `accept` did: per event whether it was new, and the queue entries it added; `packed`
 * is those entries as the backend wrote them to its queue, when it writes them packed (then
 * the hand-over to the roll-up posts that same text).
 */
export interface Accepted {
  fresh: boolean[]
  queued: QueuedEntry[]
  packed?: PackedBatch
}

/**
 * One roll-up unit of work, batch-shaped so every backend can answer each step with one
 * round of reads or writes. The pipeline calls the steps in order:
 * queued → sessionsFor → claimMarks → write.
 */
export interface IngestUnit {
  /**
   * The first epoch hour whose hourly dimension rows the store still keeps: its last sweep's
   * cutoff. Rows for older hours would only be swept again, so the roll-up skips them.
   */
  readonly hourlyDimensionsFrom: number
  /** The oldest accepted items not rolled up yet, in acceptance order. */
  queued(limit: number): Promise<QueuedEntry[]>
  /** The seq of the oldest item not rolled up yet; null when the queue is empty. */
  queueHead(): Promise<number | null>
  sessionsFor(lookups: readonly SessionLookup[]): Promise<SessionState[]>
  /** Records each mark; true where it was new (this visitor's first time in that scope). */
  claimMarks(marks: readonly VisitorMark[]): Promise<boolean[]>
  /**
   * Writes sessions and counter deltas, and retires the queue up to `processedThrough` (a
   * history import rolls up straight from its input and retires nothing).
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
    processedThrough?: number
  }): Promise<void>
}

export interface RollupRow {
  bucket: number | string
  dim: string
  value: string
  pageviews: number
  visitors: number
  sessions: number
  bounces: number
  duration_ms: number
  events: number
  bots: number
}

export interface RollupRange {
  grain: RollupKey['grain']
  site_id: string
  dim: string
  /** Inclusive bounds: epoch hours for `hour`, "YYYY-MM-DD" for `day`. */
  from: number | string
  to: number | string
  /** Only this dimension value (a filter); all values when absent. */
  value?: string
}

export type CounterName = keyof Omit<RollupRow, 'bucket' | 'dim' | 'value'>

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
 * Everything LiveInsight persists. One contract suite (`store.contract.ts`) runs against every
 * implementation, so the embedded and the AWS shape cannot drift apart.
 */
export interface Store {
  readonly kind: 'sqlite' | 'dynamodb'

  /**
   * Stage 1, on the request path: durably stores new events (the raw record and a queue
   * entry for the roll-up) and bot hits. An event whose (site, timestamp, event_id) is
   * already stored is a duplicate and is skipped. Returns, per event, whether it was new,
   * and the queue entries added (which a roll-up in the same process may take from memory).
   */
  accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted>
  /** Stage 2: runs one roll-up unit of work; atomic where the backend supports it. */
  ingest<T>(work: (unit: IngestUnit) => Promise<T>): Promise<T>
  /** How many accepted items wait for the roll-up. */
  queueLength(): Promise<number>
  /**
   * Moves one queued item that the roll-up keeps failing on out of the queue, with the
   * reason, so it cannot hold up everything behind it. It is kept for inspection, not lost;
   * the raw event stays stored too.
   */
  deadLetter(seq: number, reason: string, at: number): Promise<void>

  createSite(site: Site): Promise<void>
  getSite(id: string): Promise<Site | undefined>
  getSiteByApiKey(apiKey: string): Promise<Site | undefined>
  listSites(): Promise<Site[]>
  setSiteApiKey(id: string, apiKey: string): Promise<void>

  /** The salt of one day, created on first use; deleted by `sweep` once the day is over. */
  dailySalt(day: string): Promise<string>

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
  /**
   * A number that grows whenever a write changes the site's counters (0 before the first):
   * a cached stats answer is good while it is unchanged.
   */
  countersVersion(siteId: string): Promise<number>
  /** Rollup rows of one dimension in a range, ordered by bucket then value. */
  readRollups(range: RollupRange): Promise<RollupRow[]>
  /** A dimension's values summed over a range (bucket is ""), ordered by a counter. */
  topValues(query: TopValuesQuery): Promise<RollupRow[]>
  /** A site's identified user's sessions, newest first. */
  userSessions(query: UserSessionsQuery): Promise<SessionState[]>
  /** Events since a time with their session's attributes, oldest first (live view rebuild). */
  liveEventsSince(since: number): Promise<LiveEvent[]>

  getSetting(name: string): Promise<string | undefined>
  /** Stores a value unless one exists; returns the value that is stored either way. */
  initSetting(name: string, value: string): Promise<string>
  putSetting(name: string, value: string): Promise<void>

  /**
   * A bulk load (a history import) writes sessions by the million: until `endBulkLoad`, the
   * backend may stop keeping up indexes that serve only session lookups, and build them once
   * at the end, far cheaper than row by row. Lookups meanwhile still answer (a backend may
   * build its indexes first); a load that crashed has them rebuilt when the store next opens.
   */
  beginBulkLoad(): Promise<void>
  endBulkLoad(): Promise<void>

  /** Deletes what has outlived its use: raw events, old visitor marks and salts. */
  sweep(policy: SweepPolicy): Promise<SweepResult>
  /** Throws when storage is unusable. */
  health(): Promise<void>
  close(): Promise<void>
}
