import type { EnrichedEvent } from '../../core/types.ts'
import { EVENT_RECORD_FIELDS } from '../store.ts'

/**
 * The raw event row: what an accept (and a history import) stores of each event, for the live
 * view and a session's timeline. The roll-up does not read it: a queue item carries what the
 * roll-up needs (packed-item.ts).
 */

/** Columns of `events`, in the order of the positional insert. */
export const EVENT_COLUMNS = EVENT_RECORD_FIELDS

/** A raw event's row; one already stored (same site, time and event_id) is left as is. */
export const INSERT_EVENT_SQL = `INSERT OR IGNORE INTO events (${EVENT_COLUMNS.join(', ')})
  VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`

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
