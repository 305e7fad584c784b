/** Domain types shared by the accept and roll-up stages, storage and queries. Pure data, no behaviour. */

export type PropValue = string | number | boolean | null

/** Where a session came from, derived once from its first event. */
export interface Acquisition {
  /** "Direct", "Google", "news.ycombinator.com", or the utm_source when one is given. */
  source: string
  /** direct, search, social, email, referral, or a utm_medium such as cpc. */
  channel: string
  utm_source: string
  utm_medium: string
  utm_campaign: string
  /** The paid keyword or search term of a campaign link. */
  utm_term: string
  /** Which link or ad of a campaign was followed. */
  utm_content: string
}

export interface ClientInfo {
  browser: string
  os: string
  /** desktop, mobile, tablet, or another ua-parser device type. */
  device: string
  /** ISO 3166-1 alpha-2, or "" when unknown. */
  country: string
  /** mobile, tablet, laptop or desktop by the viewport's width, or "" when none was sent. */
  screen: string
}

/** One validated, enriched event, ready to be sessionized and stored. */
export interface EnrichedEvent extends Acquisition, ClientInfo {
  site_id: string
  /** The site's IANA time zone: its days begin at local midnight. */
  timezone: string
  event_id: string
  /** The tracker's session id, or a visitor-derived one when the client sent none. */
  client_session_id: string
  timestamp: number
  event_type: string
  /** Normalised absolute URL: lower-case host, no fragment, only UTM query parameters. */
  page_url: string
  /** Normalised path used for the page dimension: no query, trailing slash unified. */
  path: string
  host: string
  title: string
  referrer: string
  /** The referrer's host, "" when direct (a self-referral too): the session's `referrer`. */
  referrer_host: string
  user_id: string | null
  visitor_id: string
  props: Record<string, PropValue> | null
  /** Engagement time the tracker measured on the page (engagement events). */
  engagement_ms: number | null
}

/**
 * What the roll-up reads of an event: sessions, visitor marks and counters need nothing else.
 * The accept stage hands the roll-up only these fields (about half of an event's bytes), so the
 * copy costs less on both sides and the roll-up's backlog holds less memory.
 */
export type RollupEvent = Pick<
  EnrichedEvent,
  | 'site_id'
  | 'timezone'
  | 'client_session_id'
  | 'timestamp'
  | 'event_type'
  | 'path'
  | 'host'
  | 'referrer_host'
  | 'user_id'
  | 'visitor_id'
  | keyof Acquisition
  | keyof ClientInfo
>

/** A session as stored; counters are recomputed from this state on every change. */
export interface SessionState extends Acquisition, ClientInfo {
  id: string
  site_id: string
  client_session_id: string
  visitor_id: string
  user_id: string | null
  start_time: number
  end_time: number
  pageviews: number
  /** Events other than page views and engagement pings: they undo a bounce. */
  interactions: number
  entry_page: string
  exit_page: string
  /** The entry page's host: which of a site's hostnames the visit began on. */
  hostname: string
  /**
   * The referrer's host of the session's first event, "" when direct; it moves with the entry
   * as the source does. Not a counted dimension: the record's filters read it.
   */
  referrer: string
}

/** Additive counters of one rollup row. */
export interface Counters {
  pageviews: number
  visitors: number
  sessions: number
  bounces: number
  duration_ms: number
  events: number
  bots: number
}

export const COUNTER_NAMES = [
  'pageviews',
  'visitors',
  'sessions',
  'bounces',
  'duration_ms',
  'events',
  'bots',
] as const satisfies readonly (keyof Counters)[]

/**
 * Which rollup row a delta lands in. `hour` rows are keyed by epoch hour (UTC) and `day` rows
 * by the site's local calendar day; `dim` "" with value "" is the site total.
 */
export type RollupKey =
  | { grain: 'hour'; site_id: string; bucket: number; dim: string; value: string }
  | { grain: 'day'; site_id: string; bucket: string; dim: string; value: string }

export interface RollupDelta {
  key: RollupKey
  counters: Counters
}

/** "First time this visitor shows up for this scope today": claiming it adds one visitor. */
export interface VisitorMark {
  site_id: string
  day: string
  /** "" for the site itself, or "dim\u001fvalue". */
  scope: string
  visitor_id: string
  /**
   * The event that claims it (its client, time and id): a backend that claims marks apart
   * from the unit's write tags each claim with it, so a redone unit recognises its own claims
   * and any other event, even one of the same millisecond, finds the mark taken.
   */
  claimant?: string
}

export interface Site {
  id: string
  name: string
  domain: string
  timezone: string
  api_key: string
  created_at: number
}

/** A bot's request: never stored as an event, only counted per hour and day. */
export interface BotHit {
  site_id: string
  timezone: string
  timestamp: number
}
