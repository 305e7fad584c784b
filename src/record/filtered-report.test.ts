import { describe, expect, it } from 'vitest'
import { buildStatsQuery, StatsParamsSchema, type StatsQuery } from '../core/stats-query.ts'
import type { PropValue } from '../core/types.ts'
import { makeSession } from '../testing/fixtures.ts'
import { filteredReport, propertyKeys } from './filtered-report.ts'
import { recordReport } from './record-report.ts'
import type { RecordEvent, RecordReads, RecordSession } from './session-record.ts'

/**
 * A hand-worked day (2026-02-10, UTC), every expected figure counted by hand from the
 * sessions written out here.
 *
 * S1  visitor A  Google  DE desktop  10:00 / , 10:02 /pricing, 10:03 signup{plan:pro},
 *                                     10:05 /docs                       not a bounce, 5 min
 * S2  visitor B  Direct  US mobile   11:00 /pricing                     bounce, 0 min
 * S3  visitor A  Direct  DE desktop  14:00 /blog, 14:10 signup{plan:free} on /blog   10 min
 * S4  visitor C  Google  US mobile   15:00 / , 15:01 download{file:a.pdf, plan:pro}   1 min
 * S5  visitor D  Direct  DE desktop  09:00-09:04, 2 page views, from before the record
 *
 * The day before: S6 visitor E Google, S7 visitor F Direct, one page view each.
 */

const at = (hhmm: string, day = '2026-02-10') => Date.parse(`${day}T${hhmm}:00Z`)
let ids = 0
const pv = (path: string, time: string): RecordEvent => ({
  event_id: `e${++ids}`,
  timestamp: at(time),
  event_type: 'page_view',
  path,
  props: null,
})
const custom = (
  name: string,
  path: string,
  time: string,
  props: Record<string, PropValue>,
): RecordEvent => ({ event_id: `e${++ids}`, timestamp: at(time), event_type: name, path, props })

function session(
  id: string,
  fields: Partial<RecordSession> & Pick<RecordSession, 'visitor_id' | 'events'>,
): RecordSession {
  const events = fields.events ?? []
  const first = events[0]
  const last = events[events.length - 1]
  return {
    ...makeSession({
      id,
      site_id: 'site-a',
      client_session_id: id,
      start_time: first?.timestamp ?? 0,
      end_time: last?.timestamp ?? 0,
      pageviews: events.filter((e) => e.event_type === 'page_view').length,
      interactions: events.filter((e) => e.event_type !== 'page_view').length,
      entry_page: first?.path ?? '/',
      exit_page: last?.path ?? '/',
    }),
    referrer: '',
    ...fields,
  }
}

const google = { source: 'Google', channel: 'search', referrer: 'www.google.com' }
const direct = { source: 'Direct', channel: 'direct', referrer: '' }
const desktopDE = { country: 'DE', device: 'desktop', browser: 'Chrome', screen: 'desktop' }
const mobileUS = { country: 'US', device: 'mobile', browser: 'Safari', screen: 'mobile' }

const S1 = session('S1', {
  visitor_id: 'A',
  ...google,
  ...desktopDE,
  events: [
    pv('/', '10:00'),
    pv('/pricing', '10:02'),
    custom('signup', '/pricing', '10:03', { plan: 'pro' }),
    pv('/docs', '10:05'),
  ],
})
const S2 = session('S2', {
  visitor_id: 'B',
  ...direct,
  ...mobileUS,
  events: [pv('/pricing', '11:00')],
})
const S3 = session('S3', {
  visitor_id: 'A',
  ...direct,
  ...desktopDE,
  events: [pv('/blog', '14:00'), custom('signup', '/blog', '14:10', { plan: 'free' })],
})
const S4 = session('S4', {
  visitor_id: 'C',
  ...google,
  ...mobileUS,
  events: [pv('/', '15:00'), custom('download', '/', '15:01', { file: 'a.pdf', plan: 'pro' })],
})
const S5: RecordSession = {
  ...session('S5', { visitor_id: 'D', ...direct, ...desktopDE, events: null }),
  start_time: at('09:00'),
  end_time: at('09:04'),
  pageviews: 2,
  interactions: 0,
  entry_page: '/',
  exit_page: '/pricing',
}
const TODAY = [S5, S1, S2, S3, S4]
const S6 = session('S6', { visitor_id: 'E', ...google, ...desktopDE, events: [pv('/', '12:00')] })
const S7 = session('S7', { visitor_id: 'F', ...direct, ...desktopDE, events: [pv('/', '13:00')] })
const YESTERDAY = [S6, S7].map((s) => ({
  ...s,
  start_time: s.start_time - 86_400_000,
  end_time: s.end_time - 86_400_000,
  events: s.events?.map((e) => ({ ...e, timestamp: e.timestamp - 86_400_000 })) ?? null,
}))

function query(filter: string[] = [], extra: Record<string, unknown> = {}): StatsQuery {
  const params = StatsParamsSchema.parse({
    site: 'site-a',
    period: 'custom',
    from: '2026-02-10',
    to: '2026-02-10',
    compare: 'previous',
    filter,
    ...extra,
  })
  return buildStatsQuery(params, 'UTC', 0)
}

const RECORD_SINCE = at('09:30')
const report = (filter: string[] = [], extra: Record<string, unknown> = {}) =>
  filteredReport({
    current: TODAY,
    previous: YESTERDAY,
    query: query(filter, extra),
    recordSince: RECORD_SINCE,
  })

const values = (r: ReturnType<typeof report>) =>
  Object.fromEntries(Object.entries(r.summary).map(([k, m]) => [k, m.value]))

describe('filteredReport, a day worked by hand', () => {
  it('counts every session with no filter', () => {
    const r = report()
    expect(values(r)).toEqual({
      pageviews: 8,
      visitors: 4,
      sessions: 5,
      bounce_rate: 0.2,
      avg_session_duration_s: 240,
      pages_per_session: 1.6,
    })
    expect(r.summary.visitors).toEqual({ value: 4, previous: 2, change: 1 })
    expect(r.filters).toEqual([])
    expect(r.filter_applies_to).toEqual([])
    expect(r.record_partial).toBe(true)
    expect(r.record_since).toBe(RECORD_SINCE)
  })

  it('narrows every figure to the sessions of a session dimension', () => {
    const r = report(['country:DE'])
    expect(values(r)).toEqual({
      pageviews: 6,
      visitors: 2,
      sessions: 3,
      bounce_rate: 0,
      avg_session_duration_s: 380,
      pages_per_session: 2,
    })
    // A came from Google and, later, directly: counted under both, as each filter shows.
    expect(r.sources).toEqual([
      { source: 'Direct', visitors: 2, sessions: 2, bounce_rate: 0 },
      { source: 'Google', visitors: 1, sessions: 1, bounce_rate: 0 },
    ])
    expect(r.countries).toEqual([
      { country: 'DE', country_name: 'Germany', visitors: 2, sessions: 3 },
    ])
    // S5's page views are known only as a count, at its start.
    expect(r.top_pages).toEqual([
      { page_url: '/', pageviews: 1, visitors: 1 },
      { page_url: '/blog', pageviews: 1, visitors: 1 },
      { page_url: '/docs', pageviews: 1, visitors: 1 },
      { page_url: '/pricing', pageviews: 1, visitors: 1 },
    ])
    expect(r.filters).toEqual([{ dim: 'country', op: 'is', value: 'DE' }])
    expect(r.filter_applies_to).toEqual(['summary', 'timeseries', 'tables'])
    // Yesterday's DE sessions: S6 and S7, two visitors.
    expect(r.summary.visitors).toEqual({ value: 2, previous: 2, change: 0 })
    expect(r.summary.pageviews).toEqual({ value: 6, previous: 2, change: 2 })
    expect(report(['source:Google']).summary.sessions).toEqual({ value: 2, previous: 1, change: 1 })
  })

  it('answers session dimensions for sessions from before the record too', () => {
    // S2 left on /pricing; so did S5, whose events the record does not hold.
    const r = report(['exit_page:/pricing'])
    expect(values(r)).toMatchObject({ sessions: 2, visitors: 2, pageviews: 3, bounce_rate: 0.5 })
    expect(r.exit_pages).toEqual([{ page_url: '/pricing', exits: 2 }])
    expect(r.top_pages).toEqual([{ page_url: '/pricing', pageviews: 1, visitors: 1 }])
    expect(values(report(['entry_page:/blog']))).toMatchObject({ sessions: 1, visitors: 1 })
    expect(values(report(['screen:mobile', 'channel:search']))).toMatchObject({ sessions: 1 })
  })

  it('draws the chart of the kept sessions, visitors in the hour first seen', () => {
    const chart = report(['country:DE']).timeseries
    const [views, visitors] = chart.datasets
    const hour = (h: number) => chart.labels.indexOf(`2026-02-10T${String(h).padStart(2, '0')}:00`)
    expect(chart.labels).toHaveLength(24)
    expect(views.data[hour(9)]).toBe(2)
    expect(views.data[hour(10)]).toBe(3)
    expect(views.data[hour(14)]).toBe(1)
    expect(views.data.reduce((a, b) => a + b)).toBe(6)
    expect(visitors.data[hour(9)]).toBe(1)
    expect(visitors.data[hour(10)]).toBe(1)
    expect(visitors.data.reduce((a, b) => a + b)).toBe(2)
  })

  it('keeps the sessions that viewed a page, counting only that page’s views', () => {
    const r = report(['page:/pricing'])
    expect(values(r)).toEqual({
      pageviews: 2,
      visitors: 2,
      sessions: 2,
      bounce_rate: 0.5,
      avg_session_duration_s: 150,
      pages_per_session: 1,
    })
    expect(r.top_pages).toEqual([{ page_url: '/pricing', pageviews: 2, visitors: 2 }])
    expect(r.entry_pages).toEqual([
      { page_url: '/', entries: 1, visitors: 1, bounce_rate: 0 },
      { page_url: '/pricing', entries: 1, visitors: 1, bounce_rate: 1 },
    ])
    expect(r.events).toEqual([{ name: 'signup', events: 1, visitors: 1 }])
  })

  it('keeps the sessions that never viewed a page, without those from before the record', () => {
    const r = report(['page!:/pricing'])
    expect(values(r).sessions).toBe(2)
    expect(values(r).visitors).toBe(2)
    expect(r.top_pages).toEqual([
      { page_url: '/', pageviews: 1, visitors: 1 },
      { page_url: '/blog', pageviews: 1, visitors: 1 },
    ])
  })

  it('takes each filter as its own condition, met by any event of the session', () => {
    // S4 viewed / and, in another event, downloaded; S1 viewed / but downloaded nothing.
    const r = report(['page:/', 'event:download'])
    expect(values(r)).toMatchObject({ sessions: 1, visitors: 1, pageviews: 1 })
    expect(r.devices).toEqual([{ device: 'mobile', visitors: 1, sessions: 1, bounce_rate: 0 }])
    const both = report(['event:signup', 'source:Google'])
    expect(values(both)).toMatchObject({ sessions: 1, visitors: 1, pageviews: 3 })
  })

  it('matches contains ignoring case, and properties by their text', () => {
    expect(values(report(['source~:GOO']))).toMatchObject({ sessions: 2, visitors: 2 })
    expect(values(report(['browser!:chrome']))).toMatchObject({ sessions: 5 })
    expect(values(report(['browser!:Chrome']))).toMatchObject({ sessions: 2 })
    expect(values(report(['prop.plan:pro']))).toMatchObject({ sessions: 2, visitors: 2 })
    expect(values(report(['prop.plan~:R']))).toMatchObject({ sessions: 3, visitors: 2 })
    expect(values(report(['prop.file!:a.pdf']))).toMatchObject({ sessions: 3 })
    expect(values(report(['referrer:www.google.com']))).toMatchObject({ sessions: 2 })
  })

  it('breaks a property down over the kept sessions, and lists the keys seen', () => {
    const r = report([], { props: 'plan' })
    expect(r.props).toEqual({
      plan: [
        { value: 'pro', events: 2, visitors: 2 },
        { value: 'free', events: 1, visitors: 1 },
      ],
    })
    expect(r.prop_keys).toEqual(['plan', 'file'])
    expect(report(['country:DE'], { props: 'plan' }).props).toEqual({
      plan: [
        { value: 'free', events: 1, visitors: 1 },
        { value: 'pro', events: 1, visitors: 1 },
      ],
    })
    expect(report(['country:US'], { props: 'file' }).props).toEqual({
      file: [{ value: 'a.pdf', events: 1, visitors: 1 }],
    })
    expect(report().props).toBeUndefined()
    expect(propertyKeys(TODAY, query(['country:DE']))).toEqual(['plan'])
  })

  it('says the record covers the period when no session predates it', () => {
    const r = filteredReport({
      current: [S1, S2],
      previous: [],
      query: query(),
      recordSince: RECORD_SINCE,
    })
    expect(r.record_partial).toBe(false)
    expect(r.summary.visitors).toEqual({ value: 2, previous: 0, change: null })
  })
})

describe('recordReport', () => {
  it('reads both periods and computes the report from them', async () => {
    const calls: Array<[string, number, number]> = []
    const reads: RecordReads = {
      async recordSessions(siteId, from, to) {
        calls.push([siteId, from, to])
        return [...TODAY, ...YESTERDAY].filter((s) => s.start_time <= to && s.end_time >= from)
      },
      async recordSince() {
        return RECORD_SINCE
      },
    }
    const q = query(['country:DE'], { props: 'plan' })
    const got = await recordReport(reads, q)
    expect(got).toEqual(
      filteredReport({ current: TODAY, previous: YESTERDAY, query: q, recordSince: RECORD_SINCE }),
    )
    expect(calls).toEqual([
      ['site-a', at('00:00'), at('00:00', '2026-02-11') - 1],
      ['site-a', at('00:00', '2026-02-09'), at('00:00') - 1],
    ])
  })

  it('reads a rolling 24 hours from the local midnight before it', async () => {
    const calls: number[] = []
    const reads: RecordReads = {
      recordSessions: async (_, from) => {
        calls.push(from)
        return []
      },
      recordSince: async () => null,
    }
    const params = StatsParamsSchema.parse({ site: 'site-a', period: '24h' })
    await recordReport(reads, buildStatsQuery(params, 'Asia/Seoul', at('06:30')))
    // 24 hours back from 06:00 UTC is 2026-02-09 07:00 UTC, 16:00 in Seoul: its day began at
    // 15:00 UTC the day before.
    expect(calls).toEqual([at('15:00', '2026-02-08')])
  })
})
