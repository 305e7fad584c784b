import type { SessionState } from '../core/types.ts'
import type { EventRecord, SessionReads } from '../storage/store.ts'
import type { RecordEvent, RecordReads, RecordSession } from './session-record.ts'

/**
 * A visit's events for its timeline. Raw events carry the most (title, full URL, referrer,
 * engagement time) but are kept only EVENT_TTL_HOURS; the record keeps every visit's events
 * for good, with their page, type and properties. The raw events answer while they hold the
 * whole visit, the record once they do not (expired, or expiring part by part).
 */
export async function timelineEvents(
  store: Pick<SessionReads, 'sessionEvents'> & RecordReads,
  session: SessionState,
): Promise<EventRecord[]> {
  const [raw, recorded] = await Promise.all([
    store.sessionEvents(session.id),
    store
      .recordSessions(session.site_id, session.start_time, session.end_time)
      .then((sessions) => sessions.find((s) => s.id === session.id)?.events ?? null),
  ])
  if (!recorded || raw.length >= recorded.length) return raw
  return recorded.map((event) => fromRecord(session, event))
}

/** A recorded event in a raw event's shape: what the record does not keep is left empty. */
function fromRecord(session: RecordSession | SessionState, event: RecordEvent): EventRecord {
  return {
    site_id: session.site_id,
    event_id: event.event_id,
    client_session_id: session.client_session_id,
    timestamp: event.timestamp,
    event_type: event.event_type,
    page_url: event.path,
    path: event.path,
    title: '',
    referrer: '',
    user_id: session.user_id,
    visitor_id: session.visitor_id,
    props: event.props,
    engagement_ms: null,
    source: session.source,
    country: session.country,
    device: session.device,
    browser: session.browser,
  }
}
