import type { EnrichedEvent } from '../core/types.ts'
import { makeEvent } from './fixtures.ts'

/**
 * The storage contract's page view: the core fixture with the ids and moment the contract
 * suite's expectations are written against.
 */
export function enrichedEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return makeEvent({
    site_id: 'site-a',
    client_session_id: 'client-1',
    timestamp: Date.UTC(2026, 0, 15, 10, 0, 0),
    title: 'Example',
    visitor_id: 'visitor-1',
    os: 'Linux',
    country: 'DE',
    ...overrides,
  })
}

/** A page view of tracker session `client` at `at`, its visitor named after it. */
export function tabEvent(
  id: string,
  client: string,
  at: number,
  extra: Partial<EnrichedEvent> = {},
): EnrichedEvent {
  return enrichedEvent({
    event_id: id,
    client_session_id: client,
    visitor_id: `${client}-visitor`,
    timestamp: at,
    ...extra,
  })
}
