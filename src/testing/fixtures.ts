/**
 * Test-only builders (src/testing is never imported by production code): a plausible default,
 * overridden field by field.
 */
import type { EnrichedEvent, SessionState, Site } from '../core/types.ts'

export const MINUTE_MS = 60_000

/** 2026-01-01T10:00:00Z: a fixed, DST-free moment far from any local midnight used here. */
export const T0 = Date.parse('2026-01-01T10:00:00.000Z')

let eventSeq = 0

export function makeSite(overrides: Partial<Site> = {}): Site {
  return {
    id: 'site-a',
    name: 'Site A',
    domain: 'example.com',
    timezone: 'UTC',
    api_key: 'key-site-a-0123456789',
    created_at: T0,
    ...overrides,
  }
}

export function makeEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  eventSeq += 1
  const path = overrides.path ?? '/'
  return {
    site_id: 'site_1',
    timezone: 'UTC',
    event_id: `evt_${eventSeq}`,
    client_session_id: 'cs_1',
    timestamp: T0,
    event_type: 'page_view',
    page_url: `https://example.com${path}`,
    path,
    host: 'example.com',
    title: '',
    referrer: '',
    referrer_host: '',
    user_id: null,
    visitor_id: 'visitor_1',
    props: null,
    engagement_ms: null,
    source: 'Direct',
    channel: 'direct',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    browser: 'Chrome',
    os: 'Windows',
    device: 'desktop',
    country: 'KR',
    utm_term: '',
    utm_content: '',
    screen: 'desktop',
    ...overrides,
  }
}

export function makeSession(overrides: Partial<SessionState> = {}): SessionState {
  return {
    id: 'sess_1',
    site_id: 'site_1',
    client_session_id: 'cs_1',
    visitor_id: 'visitor_1',
    user_id: null,
    start_time: T0,
    end_time: T0,
    pageviews: 1,
    interactions: 0,
    entry_page: '/',
    exit_page: '/',
    hostname: 'example.com',
    referrer: '',
    source: 'Direct',
    channel: 'direct',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    browser: 'Chrome',
    os: 'Windows',
    device: 'desktop',
    country: 'KR',
    utm_term: '',
    utm_content: '',
    screen: 'desktop',
    ...overrides,
  }
}

/** A deterministic id source: "s1", "s2", … */
export function sequentialIds(prefix = 's'): () => string {
  let n = 0
  return () => `${prefix}${++n}`
}
