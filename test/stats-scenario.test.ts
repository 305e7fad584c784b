import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  PIPELINES,
  type ScenarioService,
  startScenarioService,
  type Visitor,
} from './support/scenario-service.ts'

/**
 * A small world with every number worked out by hand, on a site in Asia/Seoul (UTC+9).
 * Local days: D1 = 2026-03-10, D2 = 2026-03-11.
 *
 * V1 Chrome/Windows DE  S1 D1 10:00 /home (google) · 10:02 /pricing · 10:05 signup  → 300 s
 * V2 Firefox/Linux  US  S2 D1 11:00 /home (news.ycombinator.com)                      → bounce
 *                       S3 D1 11:31 /blog · 11:33 /blog/post (31-min gap: new session) → 120 s
 * V3 Safari/iPhone  KR  S4 D1 23:50 /home (t.co) · D2 00:10 /pricing (crosses midnight) → 1200 s
 * V1 again          DE  S5 D2 09:00 /home (direct)                                      → bounce
 * V4 Chrome/Mac     DE  S6 D2 10:00 /pricing (google) · 10:01 engagement               → bounce, 60 s
 *
 * S1 lands with utm_term=shoes&utm_content=hero; S6 on www.shop.example, the rest on
 * shop.example. Viewport widths: V1's S1 1280 px (laptop), V3 390 px (mobile), V4 1920 px
 * (desktop); S2, S3 and S5 send none (no screen row).
 *
 * D1: 4 sessions, 1 bounce, 1620 s, 6 page views, 3 visitors, 1 signup.
 * D2: 2 sessions, 2 bounces, 60 s, 3 page views, 3 visitors (V3 gets a new daily id).
 */
const KST = 9 * 3_600_000
const at = (day: 10 | 11, hh: number, mm: number) => Date.UTC(2026, 2, day, hh, mm) - KST
const PASSWORD = 'scenario-password-1'

const START = at(10, 23, 55)
let clock = START
let service: ScenarioService
let token = ''

async function send(visitor: Visitor, country: string, events: Array<Record<string, unknown>>) {
  expect((await service.send(visitor, country, events)).status).toBe(200)
}

const pv = (session_id: string, t: number, path: string, referrer = '') => ({
  session_id,
  timestamp: t,
  event_type: 'page_view',
  page_url: `https://shop.example${path}`,
  referrer,
})

async function stats(query: string) {
  const res = await fetch(`${service.server.url}/api/stats?site=${service.site.id}&${query}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  const body = (await res.json()) as { status: string; data: any; message?: string }
  expect(res.status, body.message).toBe(200)
  return body.data
}

const values = (summary: Record<string, { value: number }>) =>
  Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.value]))

// The same world through every host of the pipeline (support/scenario-service.ts).
describe.each(PIPELINES)('on the %s pipeline', (pipeline) => {
  beforeAll(async () => {
    clock = START
    service = await startScenarioService(pipeline, {
      password: PASSWORD,
      clock: () => clock,
      site: { name: 'Shop', domain: 'shop.example', timezone: 'Asia/Seoul' },
    })
    token = await service.signIn()

    // Day 1, posted while the clock shows D1 23:55 KST.
    const laptop = { screen_width: 1280 }
    await send('v1', 'DE', [
      {
        ...pv(
          'a1',
          at(10, 10, 0),
          '/home?utm_term=shoes&utm_content=hero',
          'https://www.google.com/',
        ),
        ...laptop,
      },
      { ...pv('a1', at(10, 10, 2), '/pricing'), ...laptop },
      {
        session_id: 'a1',
        timestamp: at(10, 10, 5),
        event_type: 'signup',
        page_url: 'https://shop.example/pricing',
        ...laptop,
      },
    ])
    // Shuffled on purpose: the collector sorts a batch by time.
    await send('v2', 'US', [
      pv('b1', at(10, 11, 33), '/blog/post'),
      pv('b1', at(10, 11, 0), '/home', 'https://news.ycombinator.com/item?id=1'),
      pv('b1', at(10, 11, 31), '/blog'),
    ])
    await send('v3', 'KR', [
      { ...pv('c1', at(10, 23, 50), '/home', 'https://t.co/abc'), screen_width: 390 },
    ])

    // Day 2, noon KST. The first token (12 h) has expired by now: sign in again.
    clock = at(11, 12, 0)
    token = await service.signIn()
    await send('v3', 'KR', [{ ...pv('c1', at(11, 0, 10), '/pricing'), screen_width: 390 }])
    await send('v1', 'DE', [pv('a2', at(11, 9, 0), '/home')])
    await send('v4', 'DE', [
      {
        ...pv('d1', at(11, 10, 0), '/pricing', 'https://www.google.com/'),
        page_url: 'https://www.shop.example/pricing',
        screen_width: 1920,
      },
      {
        session_id: 'd1',
        timestamp: at(11, 10, 1),
        event_type: 'engagement',
        page_url: 'https://www.shop.example/pricing',
        screen_width: 1920,
      },
    ])
  })

  afterAll(() => service.close())

  describe('stats for a hand-computed scenario (Asia/Seoul site)', () => {
    it('today, compared with yesterday', async () => {
      const data = await stats('period=today&compare=previous')
      expect(values(data.summary)).toEqual({
        pageviews: 3,
        visitors: 3,
        sessions: 2,
        bounce_rate: 1,
        avg_session_duration_s: 30,
        pages_per_session: 1.5,
      })
      expect(data.summary.pageviews).toEqual({ value: 3, previous: 6, change: -0.5 })
      expect(data.summary.sessions).toEqual({ value: 2, previous: 4, change: -0.5 })
      expect(data.summary.bounce_rate).toEqual({ value: 1, previous: 0.25, change: 3 })
      expect(data.summary.avg_session_duration_s.previous).toBe(405)
      // Hourly chart of the local day: 24 points from local midnight.
      expect(data.timeseries.labels).toHaveLength(24)
      expect(data.timeseries.labels[0]).toBe('2026-03-11T00:00')
      const views = data.timeseries.datasets[0].data as number[]
      expect(views[0]).toBe(1)
      expect(views[9]).toBe(1)
      expect(views[10]).toBe(1)
      expect(views.reduce((a, b) => a + b, 0)).toBe(3)
      expect(data.timeseries.datasets[1].label).toBe('Visitors')
    })

    it('the last 24 hours', async () => {
      const data = await stats('period=24h')
      expect(values(data.summary)).toEqual({
        pageviews: 4,
        visitors: 4,
        sessions: 3,
        bounce_rate: 0.6667,
        avg_session_duration_s: 420,
        pages_per_session: 1.33,
      })
      expect(data.timeseries.labels).toHaveLength(24)
      expect(data.timeseries.labels.at(-1)).toBe('2026-03-11T12:00')
      expect(data.top_pages).toEqual([
        { page_url: '/home', pageviews: 2, visitors: 2 },
        { page_url: '/pricing', pageviews: 2, visitors: 2 },
      ])
    })

    it('seven days with every breakdown', async () => {
      const data = await stats('period=7d')
      expect(values(data.summary)).toEqual({
        pageviews: 9,
        visitors: 6,
        sessions: 6,
        bounce_rate: 0.5,
        avg_session_duration_s: 280,
        pages_per_session: 1.5,
      })
      expect(data.timeseries.labels).toEqual([
        '2026-03-05',
        '2026-03-06',
        '2026-03-07',
        '2026-03-08',
        '2026-03-09',
        '2026-03-10',
        '2026-03-11',
      ])
      expect(data.timeseries.datasets[0].data).toEqual([0, 0, 0, 0, 0, 6, 3])
      expect(data.timeseries.datasets[1].data).toEqual([0, 0, 0, 0, 0, 3, 3])
      expect(data.top_pages).toEqual([
        { page_url: '/home', pageviews: 4, visitors: 4 },
        { page_url: '/pricing', pageviews: 3, visitors: 3 },
        { page_url: '/blog', pageviews: 1, visitors: 1 },
        { page_url: '/blog/post', pageviews: 1, visitors: 1 },
      ])
      expect(data.entry_pages.map((r: any) => [r.page_url, r.entries])).toEqual([
        ['/home', 4],
        ['/blog', 1],
        ['/pricing', 1],
      ])
      expect(data.exit_pages).toEqual([
        { page_url: '/pricing', exits: 3 },
        { page_url: '/home', exits: 2 },
        { page_url: '/blog/post', exits: 1 },
      ])
      // Session dimensions count a visitor-day under the session it was first seen in: V2's
      // second (direct) session is not a new visitor; V3 is counted on D1 and again on D2
      // (new daily id) under its Twitter session. Every table adds up to the 6 visitors.
      const sources = data.sources.map((r: any) => [
        r.source,
        r.visitors,
        r.sessions,
        r.bounce_rate,
      ])
      expect(sources).toEqual([
        ['Google', 2, 2, 0.5],
        ['Twitter', 2, 1, 0],
        ['Direct', 1, 2, 0.5],
        ['Hacker News', 1, 1, 1],
      ])
      expect(data.events).toEqual([{ name: 'signup', events: 1, visitors: 1 }])
      expect(data.devices.map((r: any) => [r.device, r.visitors, r.sessions])).toEqual([
        ['desktop', 4, 5],
        ['mobile', 2, 1],
      ])
      expect(data.countries.map((r: any) => [r.country, r.country_name, r.visitors])).toEqual([
        ['DE', 'Germany', 3],
        ['KR', 'South Korea', 2],
        ['US', 'United States', 1],
      ])
      expect(data.browsers.map((r: any) => r.browser)).toEqual(
        expect.arrayContaining(['Chrome', 'Firefox', 'Mobile Safari']),
      )
      // The entry page's host; S1's UTM term and content; the screen of the sessions that
      // sent a width (V3 twice: once a day, under its one mobile session).
      expect(data.hostnames).toEqual([
        { hostname: 'shop.example', visitors: 5, sessions: 5, bounce_rate: 0.4 },
        { hostname: 'www.shop.example', visitors: 1, sessions: 1, bounce_rate: 1 },
      ])
      expect(data.utm_terms).toEqual([
        { utm_term: 'shoes', visitors: 1, sessions: 1, bounce_rate: 0 },
      ])
      expect(data.utm_contents).toEqual([
        { utm_content: 'hero', visitors: 1, sessions: 1, bounce_rate: 0 },
      ])
      expect(
        data.screens.map((r: any) => [r.screen, r.visitors, r.sessions, r.bounce_rate]),
      ).toEqual([
        ['mobile', 2, 1, 0],
        ['desktop', 1, 1, 1],
        ['laptop', 1, 1, 0],
      ])
    })

    it('a custom range of one day charts hours in local time', async () => {
      const data = await stats('period=custom&from=2026-03-10&to=2026-03-10')
      expect(values(data.summary)).toEqual({
        pageviews: 6,
        visitors: 3,
        sessions: 4,
        bounce_rate: 0.25,
        avg_session_duration_s: 405,
        pages_per_session: 1.5,
      })
      const labels = data.timeseries.labels as string[]
      const views = data.timeseries.datasets[0].data as number[]
      expect(labels).toHaveLength(24)
      expect(views[labels.indexOf('2026-03-10T10:00')]).toBe(2)
      expect(views[labels.indexOf('2026-03-10T11:00')]).toBe(3)
      expect(views[labels.indexOf('2026-03-10T23:00')]).toBe(1)
    })

    it('a source filter narrows the summary and the chart', async () => {
      const data = await stats(`period=7d&filter=${encodeURIComponent('source:Google')}`)
      expect(values(data.summary)).toEqual({
        pageviews: 3,
        visitors: 2,
        sessions: 2,
        bounce_rate: 0.5,
        avg_session_duration_s: 180,
        pages_per_session: 1.5,
      })
      expect(data.timeseries.datasets[0].data).toEqual([0, 0, 0, 0, 0, 2, 1])
      expect(data.filter).toBe('source:Google')
    })

    it('a page filter keeps the sessions that viewed it and counts only its views', async () => {
      // S1, S4 and S6 viewed /pricing once each. S4 (V3) spans midnight: its visitor counts
      // on D1 and on D2, as in the counters. Only S6 bounced; (300 + 1200 + 60) / 3 s.
      const data = await stats(`period=7d&filter=${encodeURIComponent('page:/pricing')}`)
      expect(values(data.summary)).toEqual({
        pageviews: 3,
        visitors: 4,
        sessions: 3,
        bounce_rate: 0.3333,
        avg_session_duration_s: 520,
        pages_per_session: 1,
      })
      expect(data.filter_applies_to).toEqual(['summary', 'timeseries', 'tables'])
      expect(data.entry_pages.map((r: any) => [r.page_url, r.entries])).toEqual([
        ['/home', 2],
        ['/pricing', 1],
      ])
    })
  })

  describe('stats request validation', () => {
    it.each([
      ['period=week', /period/],
      ['period=custom&from=2026-03-10', /from and to/],
      ['period=custom&from=2026-03-12&to=2026-03-10', /after/],
      ['period=7d&limit=0', /limit/],
      ['period=7d&filter=colour:red', /filter: unknown dimension "colour"/],
      ['period=7d&filter=browser%3E:Chrome', /filter: unknown operator/],
      ['period=7d&filter=page:/a&filter=device:', /filter: "device:" has no value/],
    ])('%s → 400', async (query, message) => {
      const res = await fetch(`${service.server.url}/api/stats?site=${service.site.id}&${query}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { message: string }).message).toMatch(message)
    })

    it('404 for an unknown site, 400 without one', async () => {
      const headers = { authorization: `Bearer ${token}` }
      expect((await fetch(`${service.server.url}/api/stats?site=nope`, { headers })).status).toBe(
        404,
      )
      expect((await fetch(`${service.server.url}/api/stats`, { headers })).status).toBe(400)
    })

    it('compresses the JSON answer when the client accepts gzip', async () => {
      const res = await fetch(`${service.server.url}/api/stats?site=${service.site.id}&period=7d`, {
        headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' },
      })
      expect(res.headers.get('content-encoding')).toBe('gzip')
      expect(((await res.json()) as { status: string }).status).toBe('success')
    })
  })
})
