import type { EnrichedEvent } from '../../core/types.ts'

/**
 * How an accepted event waits for the roll-up without being written twice: the queue row
 * holds the key of its row in `events` plus the few fields that row does not keep (as a
 * small JSON object), and the roll-up joins the two back into the event. Writing the whole
 * event as JSON into the queue as well cost more than the event row itself.
 */

/** Columns of `events`, in the order of the positional insert. */
export const EVENT_COLUMNS = [
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

type EventColumn = (typeof EVENT_COLUMNS)[number]

/** A raw event's row; one already stored (same site, time and event_id) is left as is. */
export const INSERT_EVENT_SQL = `INSERT OR IGNORE INTO events (${EVENT_COLUMNS.join(', ')})
  VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`

/** Everything else an enriched event carries: the queue row's `extra`. */
const EXTRA_FIELDS = [
  'timezone',
  'host',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'os',
] as const satisfies readonly Exclude<keyof EnrichedEvent, EventColumn>[]

type ExtraField = (typeof EXTRA_FIELDS)[number]
// Compile-time: a field added to EnrichedEvent must be stored in one place or the other.
const complete: [Exclude<keyof EnrichedEvent, EventColumn | ExtraField>] extends [never]
  ? true
  : false = true
void complete

/** Values for `INSERT INTO events (EVENT_COLUMNS…) VALUES (?…)`. */
export function eventRowValues(e: EnrichedEvent): unknown[] {
  return [
    e.site_id,
    e.event_id,
    e.client_session_id,
    e.timestamp,
    e.event_type,
    e.page_url,
    e.path,
    e.title,
    e.referrer,
    e.user_id,
    e.visitor_id,
    e.props ? JSON.stringify(e.props) : null,
    e.engagement_ms,
    e.source,
    e.country,
    e.device,
    e.browser,
  ]
}

export function extraOf(e: EnrichedEvent): string {
  const extra: Partial<Record<ExtraField, string>> = {}
  for (const field of EXTRA_FIELDS) extra[field] = e[field]
  return JSON.stringify(extra)
}

/** A row of `events` (props as stored JSON) joined with its queue row's extra. */
export type StoredEventRow = Record<EventColumn, unknown> & { props: string | null }

export function eventOf(row: StoredEventRow, extra: string): EnrichedEvent {
  const event: Record<string, unknown> = JSON.parse(extra)
  for (const column of EVENT_COLUMNS) event[column] = row[column]
  event.props = row.props ? JSON.parse(row.props) : null
  return event as unknown as EnrichedEvent
}
