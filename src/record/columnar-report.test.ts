import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HOUR_MS } from '../core/calendar.ts'

const MINUTE_MS = 60_000

import { FILTER_SESSION_DIMENSIONS, type Filter, filterText } from '../core/stats-filters.ts'
import { buildStatsQuery, PERIODS, StatsParamsSchema } from '../core/stats-query.ts'
import type { PropValue } from '../core/types.ts'
import { makeSession } from '../testing/fixtures.ts'
import { type ColumnarPart, columnarPart, Dictionaries, mergeParts } from './columnar-record.ts'
import { columnarReport } from './columnar-report.ts'
import { filteredReport } from './filtered-report.ts'
import { readWindow } from './period-window.ts'
import type { RecordEvent, RecordSession } from './session-record.ts'

/**
 * The columnar report against the object one (the reference) over random worlds: visitors
 * with sessions across days, local midnights and time zones, sessions from before the record,
 * every filter dimension and operator alone and combined, properties, the previous period,
 * and the sessions split over several parts (closed days and an open tail) or merged.
 */

const ZONES = ['UTC', 'Europe/Berlin', 'Pacific/Auckland', 'America/New_York', 'Asia/Kathmandu']
const PAGES = ['/', '/pricing', '/docs', '/blog/a', '/Blog/B', '/about']
const TYPES = ['page_view', 'page_view', 'page_view', 'engagement', 'signup', 'download']
const VALUES: Record<string, string[]> = {
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
const PROP_KEYS = ['plan', 'value', 'file']
const PROP_VALUES: PropValue[] = ['pro', 'free', 7, 7.5, true, null, 'Pro']
/** 2026-03-20: Europe's and New Zealand's clocks change around then. */
const BASE = Date.parse('2026-03-20T00:00:00Z')

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

function world(seed: number, span: number): RecordSession[] {
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

const filterArb: fc.Arbitrary<Filter> = fc
  .tuple(
    fc.constantFrom(
      ...FILTER_SESSION_DIMENSIONS,
      'page',
      'event',
      ...PROP_KEYS.map((k) => `prop.${k}`),
    ),
    fc.constantFrom('is' as const, 'is_not' as const, 'contains' as const),
    fc.nat(),
  )
  .map(([dim, op, n]) => {
    const values =
      dim === 'page' || dim === 'entry_page' || dim === 'exit_page'
        ? [...PAGES, '/nowhere']
        : dim === 'event'
          ? [...TYPES, 'purchase']
          : dim.startsWith('prop.')
            ? ['pro', 'free', '7', '7.5', 'true', 'PRO', 'nothing']
            : [...(VALUES[dim] as string[]).filter(Boolean), 'none']
    const value = values[n % values.length] as string
    const text = op === 'contains' ? value.slice(0, 1 + (n % Math.max(1, value.length))) : value
    return {
      dim,
      op,
      value: text.toLowerCase() === text ? text : n % 2 ? text.toUpperCase() : text,
    } as Filter
  })

const queryArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  zone: fc.constantFrom(...ZONES),
  period: fc.constantFrom(...PERIODS.filter((p) => p !== 'custom'), 'custom'),
  nowOffset: fc.integer({ min: 0, max: 3 * 24 * 60 }),
  filters: fc.array(filterArb, { maxLength: 3 }),
  props: fc.option(fc.constantFrom(...PROP_KEYS, 'absent'), { nil: undefined }),
  compare: fc.boolean(),
  limit: fc.constantFrom(3, 10),
  parts: fc.integer({ min: 1, max: 3 }),
  merge: fc.boolean(),
})

describe('columnarReport', () => {
  it('equals filteredReport over random worlds, filters, periods and parts', () => {
    fc.assert(
      fc.property(queryArb, (q) => {
        const span =
          q.period === '90d' || q.period === '12mo' ? 40 * 24 * HOUR_MS : 10 * 24 * HOUR_MS
        const sessions = world(q.seed, span)
        const now = BASE + q.nowOffset * MINUTE_MS
        const params = StatsParamsSchema.parse({
          site: 'site',
          period: q.period,
          ...(q.period === 'custom' ? { from: '2026-03-14', to: '2026-03-19' } : {}),
          ...(q.compare ? { compare: 'previous' } : {}),
          limit: q.limit,
          filter: q.filters.map(filterText),
          ...(q.props ? { props: q.props } : {}),
        })
        const query = buildStatsQuery(params, q.zone, now)
        const overlapping = (period: typeof query.current) => {
          const w = readWindow(period, query.timezone)
          return sessions.filter((s) => s.start_time <= w.to && s.end_time >= w.from)
        }
        const recordSince = sessions.some((s) => s.events === null) ? BASE : null
        const expected = filteredReport({
          current: overlapping(query.current),
          previous: query.previous ? overlapping(query.previous) : null,
          query,
          recordSince,
        })
        // The sessions over parts as the cache holds them: split by their end (closed days,
        // the open tail), some parts merged.
        const dicts = new Dictionaries(q.zone)
        const cut = [...sessions].map((s) => s.end_time).sort((a, b) => a - b)
        let parts: ColumnarPart[] = []
        let from = 0
        for (let p = 1; p <= q.parts; p++) {
          const to = p === q.parts ? cut.length : Math.floor((cut.length * p) / q.parts)
          const bound = cut[to - 1] ?? 0
          const lower = from === 0 ? -Infinity : (cut[from - 1] as number)
          parts.push(
            columnarPart(
              dicts,
              sessions.filter((s) => s.end_time > lower && s.end_time <= bound),
            ),
          )
          from = to
        }
        if (q.merge && parts.length > 1) {
          parts = [
            mergeParts(parts[0] as ColumnarPart, parts[1] as ColumnarPart),
            ...parts.slice(2),
          ]
        }
        const actual = columnarReport({ dicts, parts, query, recordSince })
        expect(actual).toEqual(expected)
      }),
      { seed: 26, numRuns: 400 },
    )
  })
})
