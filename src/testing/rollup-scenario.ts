import { hourBucket } from '../core/calendar.ts'
import { ROW_DIMENSIONS } from '../core/rollup-deltas.ts'
import { type BotHit, COUNTER_NAMES, type EnrichedEvent } from '../core/types.ts'
import type { RollupRow, Store } from '../storage/store.ts'
import { enrichedEvent } from './enriched-event.ts'

export const SCENARIO_DAY = '2026-01-15'
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)
const MIN = 60_000

/** A small deterministic generator, so a scenario is the same on every run. */
function lcg(seed: number) {
  let state = seed >>> 0
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

/**
 * A morning of one site's traffic for roll-up tests, in time order: visitors with one to
 * three sessions of page views (some a bounce, some past the 30-minute gap), custom events,
 * engagement pings, sources, countries, hostnames, UTM terms and contents (some sessions
 * without), screens (some without), one visitor in two tabs at once (two tracker
 * sessions, so two partitions and possibly two shards counting the same visitor), and bots.
 */
export function rollupScenario(seed = 7): { events: EnrichedEvent[]; bots: BotHit[] } {
  const next = lcg(seed)
  const events: EnrichedEvent[] = []
  const pages = ['/', '/pricing', '/docs', '/blog/a', '/blog/b', '/signup']
  const sources = [
    { source: 'Direct', channel: 'direct' },
    { source: 'Google', channel: 'search' },
    { source: 'news.ycombinator.com', channel: 'referral' },
  ]
  const countries = ['DE', 'KR', 'US', 'IN']
  // "" is a server-side event's: no width, so no screen row.
  const screens = ['mobile', 'tablet', 'laptop', 'desktop', '']
  const hosts = ['example.com', 'docs.example.com', 'www.example.com']
  let id = 0
  const event = (fields: Partial<EnrichedEvent>) =>
    events.push(enrichedEvent({ event_id: `e${++id}`, ...fields }))
  for (let v = 0; v < 12; v++) {
    const visitor = `visitor-${v}`
    const sessions = 1 + next(3)
    let at = T0 + next(40) * MIN
    for (let s = 0; s < sessions; s++) {
      const client = `${visitor}-tab-${s}`
      const from = sources[next(sources.length)] ?? sources[0]
      const views = 1 + next(5)
      // Drawn from v and s, not from `next`, so the rest of the scenario stays as it was.
      const host = hosts[(v + s) % hosts.length] ?? 'example.com'
      const common = {
        client_session_id: client,
        visitor_id: visitor,
        country: countries[v % countries.length] ?? 'DE',
        user_id: v % 5 === 0 ? `user-${v}` : null,
        screen: screens[v % screens.length] ?? '',
        utm_term: (v + s) % 3 === 0 ? `term-${v % 2}` : '',
        utm_content: (v + s) % 4 === 1 ? 'hero' : '',
        ...from,
      }
      for (let p = 0; p < views; p++) {
        const path = pages[next(pages.length)] ?? '/'
        event({ ...common, timestamp: at, path, host, page_url: `https://${host}${path}` })
        if (next(4) === 0) {
          event({ ...common, timestamp: at + 1000, event_type: 'signup_click', path })
        }
        at += (1 + next(9)) * MIN
      }
      if (views > 1 && next(2) === 0) {
        event({ ...common, timestamp: at, event_type: 'engagement', engagement_ms: 30_000 })
      }
      // The next session of this visitor starts after the 30-minute gap.
      at += 31 * MIN + next(60) * MIN
    }
  }
  // One visitor in two tabs at the same time, both from the same page and source.
  for (let p = 0; p < 4; p++) {
    for (const tab of ['a', 'b']) {
      event({
        client_session_id: `two-tabs-${tab}`,
        visitor_id: 'visitor-two-tabs',
        timestamp: T0 + (10 + p) * MIN + (tab === 'b' ? 20_000 : 0),
        path: p === 0 ? '/' : `/docs/${p}`,
        source: 'Google',
        channel: 'search',
      })
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp)
  const bots = [0, 7, 30].map((m) => ({
    site_id: 'site-a',
    timezone: 'UTC',
    timestamp: T0 + m * MIN,
  }))
  return { events, bots }
}

/** Every tracker session id of a scenario's events. */
export function scenarioClients(events: readonly EnrichedEvent[]): string[] {
  return [...new Set(events.map((e) => e.client_session_id))].sort()
}

/**
 * What a roll-up leaves for readers, for comparing two stores: the day's rows of every
 * dimension, the site's hours, and each client's sessions (without the drawn ids).
 */
export async function countsOf(store: Store, clients: readonly string[]) {
  const range = { site_id: 'site-a', from: SCENARIO_DAY, to: SCENARIO_DAY }
  // A row whose counters net to zero (an exit page a later batch moved on from) reads as no
  // row: where it is left depends only on how the events were cut into units.
  const counted = (rows: RollupRow[]) =>
    rows.filter((row) => COUNTER_NAMES.some((name) => row[name] !== 0))
  const days = await Promise.all(
    ROW_DIMENSIONS.map(async (dim) =>
      counted(await store.readRollups({ grain: 'day', dim, ...range })),
    ),
  )
  const hours = await store.readRollups({
    grain: 'hour',
    site_id: 'site-a',
    dim: '',
    from: hourBucket(T0) - 1,
    to: hourBucket(T0) + 12,
  })
  const sessions = await Promise.all(
    clients.map(async (client) => {
      const found = await store.findSession('site-a', client, T0)
      return found ? { ...found, id: '' } : null
    }),
  )
  // The record: each session's events once, whatever the deliveries (same-millisecond events
  // may be counted in either order, so by time and id).
  const record = (await store.recordSessions('site-a', T0 - 86_400_000, T0 + 2 * 86_400_000))
    .map((s) => ({
      client: s.client_session_id,
      start: s.start_time,
      end: s.end_time,
      events: s.events
        ?.map((e) => `${e.timestamp}#${e.event_id}#${e.path}`)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    }))
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.start - b.start))
  return { days, hours, sessions, record }
}
