import type {
  PropValue,
  RollupDelta,
  RollupKey,
  SessionState,
  Site,
  VisitorMark,
} from '../core/types.ts'

/**
 * A raw event as stored for a session's timeline. Everything the session already knows
 * (source, browser, country…) lives on the session, which keeps this row small.
 */
export interface EventRecord {
  site_id: string
  event_id: string
  /** Internal id of the session the event belongs to. */
  session_id: string
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
}

/** Sessions of one client session id that overlap [from, to]. */
export interface SessionLookup {
  site_id: string
  client_session_id: string
  from: number
  to: number
}

/**
 * What makes an event "the same event again": the tracker retries with the same id and the
 * same timestamp. Keying on the time as well keeps the events table append-ordered.
 */
export interface EventKey {
  site_id: string
  timestamp: number
  event_id: string
}

export function eventKeyString(key: EventKey): string {
  return `${key.site_id}\u001f${key.timestamp}\u001f${key.event_id}`
}

/**
 * One ingest unit of work, batch-shaped so every backend can answer each step with one
 * round of reads or writes. The ingest pipeline calls the steps in order:
 * existingEventIds → sessionsFor → claimMarks → write.
 */
export interface IngestUnit {
  /** Which of these events are already stored (as `eventKeyString` keys). */
  existingEventIds(keys: readonly EventKey[]): Promise<Set<string>>
  sessionsFor(lookups: readonly SessionLookup[]): Promise<SessionState[]>
  /** Records each mark; true where it was new (this visitor's first time in that scope). */
  claimMarks(marks: readonly VisitorMark[]): Promise<boolean[]>
  write(changes: {
    events: readonly EventRecord[]
    sessions: readonly SessionState[]
    deltas: readonly RollupDelta[]
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
}

/** What the live view needs of a recent event; rebuilt from storage after a restart. */
export interface LiveEvent {
  site_id: string
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

  /** Runs one ingest unit of work; atomic where the backend supports it. */
  ingest<T>(work: (unit: IngestUnit) => Promise<T>): Promise<T>

  createSite(site: Site): Promise<void>
  getSite(id: string): Promise<Site | undefined>
  getSiteByApiKey(apiKey: string): Promise<Site | undefined>
  listSites(): Promise<Site[]>
  setSiteApiKey(id: string, apiKey: string): Promise<void>

  /** The salt of one day, created on first use; deleted by `sweep` once the day is over. */
  dailySalt(day: string): Promise<string>

  getSession(id: string): Promise<SessionState | undefined>
  /** A session's events in time order (only while they are within the event TTL). */
  sessionEvents(sessionId: string): Promise<EventRecord[]>
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

  /** Deletes what has outlived its use: raw events, old visitor marks and salts. */
  sweep(policy: SweepPolicy): Promise<SweepResult>
  /** Throws when storage is unusable. */
  health(): Promise<void>
  close(): Promise<void>
}
