import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  PIPELINES,
  type ScenarioService,
  startScenarioService,
  type Visitor,
} from './support/scenario-service.ts'

/**
 * Filters and properties over a small world, every figure worked out by hand below. One UTC
 * day, 2026-03-10; the clock reads 23:00.
 *
 * S1 V1 Chrome/Windows DE laptop  Google  10:00 /home · 10:02 /pricing · 10:05 signup{plan:pro}
 *                                         → 2 views, 300 s
 * S2 V2 Firefox/Linux  US —       HN      11:00 /home                       → bounce
 * S3 V3 iPhone         KR mobile  Twitter 12:00 /blog · 12:01 /pricing · 12:02 signup{plan:free}
 *                                         · 12:03 download{file:a.pdf}      → 2 views, 180 s
 * S4 V4 Chrome/Mac     DE desktop Direct  13:00 /pricing                    → bounce
 * S5 V1 again          DE —       Direct  15:00 /blog · 15:10 /home         → 2 views, 600 s
 *
 * Whole day: 4 visitors, 5 sessions, 8 views, 2 bounces (0.4), 1080 s (216 s a session).
 */
const at = (hh: number, mm: number) => Date.UTC(2026, 2, 10, hh, mm)
const PASSWORD = 'filters-password-1'

let clock = at(23, 0)
let service: ScenarioService
let token = ''

async function send(visitor: Visitor, country: string, events: Array<Record<string, unknown>>) {
  expect((await service.send(visitor, country, events)).status).toBe(200)
}

const pv = (session_id: string, t: number, path: string, extra: Record<string, unknown> = {}) => ({
  session_id,
  timestamp: t,
  event_type: 'page_view',
  page_url: `https://shop.example${path}`,
  ...extra,
})
const custom = (
  session_id: string,
  t: number,
  name: string,
  props: Record<string, string>,
  extra: Record<string, unknown> = {},
) => ({
  session_id,
  timestamp: t,
  event_type: name,
  page_url: 'https://shop.example/pricing',
  props,
  ...extra,
})

async function get(query: string) {
  return fetch(`${service.server.url}/api/stats?site=${service.site.id}&period=today&${query}`, {
    headers: { authorization: `Bearer ${token}` },
  })
}

async function stats(...filters: string[]) {
  const query = filters.map((f) => `filter=${encodeURIComponent(f)}`).join('&')
  const res = await get(query)
  const body = (await res.json()) as { data: any; message?: string }
  expect(res.status, body.message).toBe(200)
  return body.data
}

const values = (summary: Record<string, { value: number }>) =>
  Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.value]))

describe.each(PIPELINES)('filters on the %s pipeline', (pipeline) => {
  beforeAll(async () => {
    clock = at(23, 0)
    service = await startScenarioService(pipeline, {
      password: PASSWORD,
      clock: () => clock,
      site: { name: 'Shop', domain: 'shop.example', timezone: 'UTC' },
    })
    token = await service.signIn()

    const laptop = { screen_width: 1280 }
    await send('v1', 'DE', [
      pv('a1', at(10, 0), '/home', { referrer: 'https://www.google.com/', ...laptop }),
      pv('a1', at(10, 2), '/pricing', laptop),
      custom('a1', at(10, 5), 'signup', { plan: 'pro' }, laptop),
    ])
    await send('v2', 'US', [
      pv('b1', at(11, 0), '/home', { referrer: 'https://news.ycombinator.com/' }),
    ])
    const phone = { screen_width: 390 }
    await send('v3', 'KR', [
      pv('c1', at(12, 0), '/blog', { referrer: 'https://t.co/abc', ...phone }),
      pv('c1', at(12, 1), '/pricing', phone),
      custom('c1', at(12, 2), 'signup', { plan: 'free' }, phone),
      custom('c1', at(12, 3), 'download', { file: 'a.pdf' }, phone),
    ])
    await send('v4', 'DE', [pv('d1', at(13, 0), '/pricing', { screen_width: 1920 })])
    await send('v1', 'DE', [pv('a2', at(15, 0), '/blog'), pv('a2', at(15, 10), '/home')])
  })

  afterAll(() => service.close())

  it('the unfiltered day, as the counters have it', async () => {
    const data = await stats()
    expect(values(data.summary)).toEqual({
      pageviews: 8,
      visitors: 4,
      sessions: 5,
      bounce_rate: 0.4,
      avg_session_duration_s: 216,
      pages_per_session: 1.6,
    })
    expect(data.filters).toEqual([])
  })

  it('a session dimension narrows every panel to those sessions', async () => {
    // S1, S4, S5: V1 and V4; 2 + 1 + 2 views; S4 bounced; (300 + 0 + 600) / 3 s.
    const data = await stats('country:DE')
    expect(values(data.summary)).toEqual({
      pageviews: 5,
      visitors: 2,
      sessions: 3,
      bounce_rate: 0.3333,
      avg_session_duration_s: 300,
      pages_per_session: 1.67,
    })
    expect(data.filters).toEqual([{ dim: 'country', op: expect.any(String), value: 'DE' }])
    expect(data.sources.map((r: any) => [r.source, r.visitors, r.sessions, r.bounce_rate])).toEqual(
      [
        ['Direct', 2, 2, 0.5],
        ['Google', 1, 1, 0],
      ],
    )
    expect(data.countries.map((r: any) => [r.country, r.visitors])).toEqual([['DE', 2]])
    // Most views first, ties by name.
    expect(data.top_pages).toEqual([
      { page_url: '/home', pageviews: 2, visitors: 1 },
      { page_url: '/pricing', pageviews: 2, visitors: 2 },
      { page_url: '/blog', pageviews: 1, visitors: 1 },
    ])
    expect(data.events).toEqual([{ name: 'signup', events: 1, visitors: 1 }])
    const views = data.timeseries.datasets[0].data as number[]
    expect(views.reduce((a, b) => a + b, 0)).toBe(5)
  })

  it('a page filter keeps the sessions that viewed it and counts only its views', async () => {
    // S1, S3, S4 saw /pricing once each; S4 bounced; (300 + 180 + 0) / 3 s.
    const data = await stats('page:/pricing')
    expect(values(data.summary)).toEqual({
      pageviews: 3,
      visitors: 3,
      sessions: 3,
      bounce_rate: 0.3333,
      avg_session_duration_s: 160,
      pages_per_session: 1,
    })
    expect(data.entry_pages.map((r: any) => [r.page_url, r.entries]).sort()).toEqual([
      ['/blog', 1],
      ['/home', 1],
      ['/pricing', 1],
    ])
  })

  it('"is not" on a page keeps the sessions that never viewed it', async () => {
    // S2 (/home) and S5 (/blog, /home).
    const data = await stats('page!:/pricing')
    expect(values(data.summary)).toMatchObject({ pageviews: 3, visitors: 2, sessions: 2 })
    expect(data.summary.bounce_rate.value).toBe(0.5)
  })

  it('filters combine: every one must hold, each on its own', async () => {
    // DE sessions that viewed /home: S1 and S5, both V1; only the /home views count.
    const data = await stats('country:DE', 'page:/home')
    expect(values(data.summary)).toMatchObject({ pageviews: 2, visitors: 1, sessions: 2 })
    expect(data.summary.bounce_rate.value).toBe(0)
    expect(data.filters.map((f: any) => [f.dim, f.value])).toEqual([
      ['country', 'DE'],
      ['page', '/home'],
    ])
    // A page and an event condition may be met by different events of one session.
    const both = await stats('page:/blog', 'event:signup')
    expect(values(both.summary)).toMatchObject({ sessions: 1, visitors: 1, pageviews: 1 })
  })

  it('contains ignores case; events, properties and screens filter too', async () => {
    expect(values((await stats('source~:GOO')).summary)).toMatchObject({
      sessions: 1,
      pageviews: 2,
    })
    const signups = await stats('event:signup')
    expect(values(signups.summary)).toMatchObject({ sessions: 2, visitors: 2, pageviews: 4 })
    expect(signups.summary.bounce_rate.value).toBe(0)
    expect(values((await stats('prop.plan:pro')).summary)).toMatchObject({
      sessions: 1,
      visitors: 1,
    })
    expect(values((await stats('screen:laptop')).summary)).toMatchObject({
      sessions: 1,
      pageviews: 2,
    })
    expect(values((await stats('device:mobile')).summary)).toMatchObject({
      sessions: 1,
      pageviews: 2,
    })
  })

  it('breaks a property down, over what the filters keep', async () => {
    const res = await get('props=plan')
    const data = ((await res.json()) as { data: any }).data
    expect([...data.props.plan].sort((a: any, b: any) => a.value.localeCompare(b.value))).toEqual([
      { value: 'free', events: 1, visitors: 1 },
      { value: 'pro', events: 1, visitors: 1 },
    ])
    // Unfiltered, the property is added to the counters' view: every other figure is the
    // one the page shows without the properties panel.
    const { props: _, prop_keys, record_since, record_partial, ...rest } = data
    expect(rest).toEqual(await stats())
    expect(prop_keys).toContain('plan')
    expect(record_partial).toBe(false)
    expect(record_since).toEqual(expect.any(Number))
    const de = (
      (await (await get(`props=plan&filter=${encodeURIComponent('country:DE')}`)).json()) as {
        data: any
      }
    ).data
    expect(de.props.plan).toEqual([{ value: 'pro', events: 1, visitors: 1 }])
  })

  it('compares with the previous period under the same filters', async () => {
    const res = await get(`compare=previous&filter=${encodeURIComponent('country:DE')}`)
    const data = ((await res.json()) as { data: any }).data
    expect(data.summary.sessions).toEqual({ value: 3, previous: 0, change: null })
  })

  it.each([['colour:red'], ['page>:/x'], ['page']])(
    'refuses filter %s with 400 and the error envelope',
    async (filter) => {
      const res = await get(`filter=${encodeURIComponent(filter)}`)
      expect(res.status).toBe(400)
      const body = (await res.json()) as { status: string; message: string }
      expect(body.status).toBe('error')
      expect(body.message).toMatch(/filter/)
    },
  )
})
