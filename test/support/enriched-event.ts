import type { EnrichedEvent } from '../../src/core/types.ts'

let counter = 0

/** A plausible enriched page view; override what a test is about. */
export function enrichedEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  counter += 1
  const path = overrides.path ?? '/'
  return {
    site_id: 'site-a',
    timezone: 'UTC',
    event_id: `evt-${counter}`,
    client_session_id: 'client-1',
    timestamp: Date.UTC(2026, 0, 15, 10, 0, 0),
    event_type: 'page_view',
    page_url: `https://example.com${path}`,
    path,
    host: 'example.com',
    title: 'Example',
    referrer: '',
    user_id: null,
    visitor_id: 'visitor-1',
    props: null,
    engagement_ms: null,
    source: 'Direct',
    channel: 'direct',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    browser: 'Chrome',
    os: 'Linux',
    device: 'desktop',
    country: 'DE',
    ...overrides,
  }
}
