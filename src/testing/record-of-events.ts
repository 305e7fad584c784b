import { sessionize } from '../core/session-rules.ts'
import type { EnrichedEvent } from '../core/types.ts'
import type { RecordSession } from '../record/session-record.ts'

/**
 * The record a store would keep of these events, delivered at once: the roll-up's sessions
 * (session-rules.ts, the same 30-minute gap) with their events in time order.
 */
export function recordOfEvents(events: readonly EnrichedEvent[]): RecordSession[] {
  let ids = 0
  const { changes, sessionOf } = sessionize({
    events,
    existing: [],
    timeoutMs: 30 * 60_000,
    newId: () => `s-${++ids}`,
  })
  const eventsOf = new Map<string, EnrichedEvent[]>()
  for (const [event, id] of sessionOf) {
    const list = eventsOf.get(id) ?? []
    list.push(event as EnrichedEvent)
    eventsOf.set(id, list)
  }
  const sessions: RecordSession[] = []
  for (const { after } of changes) {
    if (!after) continue
    const own = (eventsOf.get(after.id) ?? []).sort((a, b) => a.timestamp - b.timestamp)
    const first = own[0]
    const referrer = first?.referrer && URL.canParse(first.referrer) ? first.referrer : ''
    sessions.push({
      ...after,
      referrer: referrer ? new URL(referrer).hostname : '',
      events: own.map((e) => ({
        event_id: e.event_id,
        timestamp: e.timestamp,
        event_type: e.event_type,
        path: e.path,
        props: e.props,
      })),
    })
  }
  return sessions.sort((a, b) => a.start_time - b.start_time)
}
