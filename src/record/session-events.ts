import type { PropValue, SessionState } from '../core/types.ts'
import type { RecordInput } from '../storage/store.ts'
import type { RecordEvent } from './session-record.ts'

/** Events kept per session: the first ones in time order (a funnel reads from the start). */
export const MAX_RECORD_EVENTS = 100

/** A stored session a roll-up unit read, with its events as stored (null: before the record). */
export interface ReadSession {
  session: SessionState
  events: RecordEvent[] | null
}

/**
 * The events `session` holds after a roll-up unit: those of every stored session it now spans
 * (itself, and any it absorbed), and the unit's new events of its tracker session within its
 * span, in time order (same millisecond: stored first, then as counted), each
 * `(time, event_id)` once, the first MAX_RECORD_EVENTS. undefined when a session it absorbed
 * was written before the record. `limited` applies the record's property limits to a new
 * event (record/property-limits.ts), with the writer's state of the day.
 *
 * Every backend that keeps sessions with their events computes them here, so a unit redone
 * after a failure, or a window folded again, writes the same events.
 */
export function sessionEventsAfter(
  session: SessionState,
  read: Iterable<ReadSession>,
  record: readonly RecordInput[],
  limited: (e: RecordInput) => Record<string, PropValue> | null,
): RecordEvent[] | undefined {
  const within = (s: { site_id: string; client_session_id: string }, at: number) =>
    s.site_id === session.site_id &&
    s.client_session_id === session.client_session_id &&
    at >= session.start_time &&
    at <= session.end_time
  const events: RecordEvent[] = []
  const seen = new Set<string>()
  const add = (e: RecordEvent) => {
    const key = `${e.timestamp}#${e.event_id}`
    if (seen.has(key)) return
    seen.add(key)
    events.push(e)
  }
  for (const stored of read) {
    if (!within(stored.session, stored.session.start_time)) continue
    if (stored.events === null) return undefined
    for (const e of stored.events) add(e)
  }
  for (const e of record) {
    if (!within(e, e.timestamp)) continue
    add({
      event_id: e.event_id,
      timestamp: e.timestamp,
      event_type: e.event_type,
      path: e.path,
      props: limited(e),
    })
  }
  events.sort((a, b) => a.timestamp - b.timestamp)
  return events.slice(0, MAX_RECORD_EVENTS)
}
