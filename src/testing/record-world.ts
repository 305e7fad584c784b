import { HOUR_MS } from '../core/calendar.ts'
import type { PropValue } from '../core/types.ts'
import type { RecordEvent, RecordSession } from '../record/session-record.ts'
import { makeSession } from './fixtures.ts'

/**
 * Random worlds of the record for property tests (record/columnar-report.test.ts): visitors
 * with sessions across days and local midnights, sessions from before the record, custom
 * events and properties of several types, every session dimension with a few values.
 */

const MINUTE_MS = 60_000

export const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Pacific/Auckland',
  'America/New_York',
  'Asia/Kathmandu',
]
export const PAGES = ['/', '/pricing', '/docs', '/blog/a', '/Blog/B', '/about']
export const TYPES = ['page_view', 'page_view', 'page_view', 'engagement', 'signup', 'download']
export const VALUES: Record<string, string[]> = {
  source: ['Direct', 'Google', 'news.ycombinator.com'],
  channel: ['direct', 'search', 'referral'],
  referrer: ['', 'www.google.com', 'news.ycombinator.com'],
  utm_source: ['', 'newsletter'],
  utm_medium: ['', 'email', 'cpc'],
  utm_campaign: ['', 'spring'],
  utm_term: ['', 'shoes'],
  utm_content: ['', 'top'],
  country: ['', 'DE', 'US', 'NZ'],
  device: ['desktop', 'mobile'],
  browser: ['Chrome', 'Safari', 'Firefox'],
  os: ['Linux', 'iOS', 'Windows'],
  hostname: ['example.com', 'www.example.com'],
  screen: ['', 'mobile', 'desktop'],
}
export const PROP_KEYS = ['plan', 'value', 'file']
const PROP_VALUES: PropValue[] = ['pro', 'free', 7, 7.5, true, null, 'Pro']
/** 2026-03-20: Europe's and New Zealand's clocks change around then. */
export const BASE = Date.parse('2026-03-20T00:00:00Z')

/** A small deterministic generator, so a failing seed rebuilds its world exactly. */
function rng(seed: number) {
  let s = seed >>> 0 || 1
  const next = () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T,
  }
}

export function recordWorld(seed: number, span: number): RecordSession[] {
  const r = rng(seed)
  const visitors = 1 + r.int(25)
  const sessions: RecordSession[] = []
  const recordSince = r.next() < 0.3 ? BASE - span / 2 : null
  let ids = 0
  for (let v = 0; v < visitors; v++) {
    const count = 1 + r.int(r.next() < 0.1 ? 30 : 5)
    for (let k = 0; k < count; k++) {
      let t = BASE - span + Math.floor(r.next() * span * 1.2)
      const events: RecordEvent[] = []
      const n = 1 + r.int(r.next() < 0.1 ? 25 : 6)
      for (let e = 0; e < n; e++) {
        const props: Record<string, PropValue> = {}
        if (r.next() < 0.3)
          for (const key of PROP_KEYS) if (r.next() < 0.5) props[key] = r.pick(PROP_VALUES)
        events.push({
          event_id: `e${++ids}`,
          timestamp: t,
          event_type: r.pick(TYPES),
          path: r.pick(PAGES),
          props: Object.keys(props).length ? props : null,
        })
        // Sometimes the same millisecond, sometimes hours apart (a session past midnight).
        t += r.next() < 0.1 ? 0 : r.next() < 0.15 ? 3 * HOUR_MS : r.int(20 * MINUTE_MS)
      }
      const first = events[0] as RecordEvent
      const last = events[events.length - 1] as RecordEvent
      const fields = Object.fromEntries(
        Object.entries(VALUES).map(([dim, values]) => [dim, r.pick(values)]),
      )
      const before = recordSince !== null && first.timestamp < recordSince
      sessions.push({
        ...makeSession({
          id: `s${sessions.length}`,
          site_id: 'site',
          client_session_id: `c${sessions.length}`,
          visitor_id: `v${v}`,
          start_time: first.timestamp,
          end_time: last.timestamp,
          pageviews: events.filter((e) => e.event_type === 'page_view').length,
          interactions: events.filter(
            (e) => e.event_type !== 'page_view' && e.event_type !== 'engagement',
          ).length,
          entry_page: first.path,
          exit_page: last.path,
        }),
        ...fields,
        referrer: fields.referrer as string,
        events: before ? null : events,
      })
    }
  }
  return sessions
}
