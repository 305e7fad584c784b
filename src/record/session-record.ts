import type { PropValue, SessionState } from '../core/types.ts'

/**
 * The record (issue 26, item 4): every session kept for good with its events in order, so a
 * question nobody counted in advance (a filter, a property, later a goal or a funnel) can be
 * answered about the past. The counters still serve the unfiltered dashboard; the record
 * serves everything a counter row cannot: combined filters, event and property filters,
 * property breakdowns, timelines weeks later.
 *
 * This file is the contract between the stores that keep the record and the query that reads
 * it (record/filtered-report.ts): plain data, no behaviour.
 */

/** One event of a session as the record keeps it. */
export interface RecordEvent {
  event_id: string
  timestamp: number
  /** 'page_view', 'engagement', or a custom event's name, as the event was sent. */
  event_type: string
  /** The page's normalised path (the `page` dimension). */
  path: string
  /** Custom properties, within the record's limits (record/property-limits.ts); null when none. */
  props: Record<string, PropValue> | null
}

/** A session of the record: its stored state and, when the record holds them, its events. */
export interface RecordSession extends SessionState {
  /** The referrer's host of the session's first event ("" when direct). */
  referrer: string
  /**
   * The session's events in time order (equal times in the order they were counted). `null`
   * for a session counted before the record existed (a site upgraded from a release without
   * it): its session dimensions still answer filters, its pages, events and properties do not.
   */
  events: RecordEvent[] | null
}

/** What a store offers the filtered query. */
export interface RecordReads {
  /**
   * The site's sessions that have at least one moment in [from, to] (epoch ms, inclusive):
   * `start_time <= to && end_time >= from`, with their events, in start-time order.
   */
  recordSessions(siteId: string, from: number, to: number): Promise<RecordSession[]>
  /**
   * When the record began holding events for this site (epoch ms): sessions from before it
   * carry `events: null`. null when it holds none yet.
   */
  recordSince(siteId: string): Promise<number | null>
}
