import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest'
import { makeSite } from '../src/testing/fixtures.ts'
import { type AppOverSqlite, appOverSqlite } from './support/app-over-sqlite.ts'
import { CHROME_UA } from './support/embedded-server.ts'

const MIN = 60_000
const counted = makeSite({ id: 'counted', api_key: 'stats_read_key_counted_1' })
const empty = makeSite({ id: 'empty', api_key: 'stats_read_key_empty_1' })

let clock = Date.UTC(2026, 4, 1, 12, 0)
let t: AppOverSqlite
/** Every counter read the stats make, through the real store. */
let reads: MockInstance[] = []

beforeAll(async () => {
  t = await appOverSqlite({
    now: () => clock,
    statsCacheMs: 30_000,
    prepare: async (store) => {
      for (const site of [counted, empty]) await store.createSite(site)
    },
  })
  reads = [vi.spyOn(t.store, 'topValues'), vi.spyOn(t.store, 'readRollups')]
})
afterAll(() => t.close())

/** One page view on the counted site, rolled up: its counters version moves on. */
async function pageView(path: string) {
  const res = await t.app.request('/api/events', {
    method: 'POST',
    headers: { 'x-api-key': counted.api_key, 'user-agent': CHROME_UA },
    body: JSON.stringify({
      events: [
        { event_type: 'page_view', page_url: `https://example.com${path}`, timestamp: clock },
      ],
    }),
  })
  expect(res.status).toBe(200)
  await t.pipeline.settle()
}

async function text(path: string): Promise<string> {
  const res = await t.get(path)
  expect(res.status).toBe(200)
  return res.text()
}

/** How many counter reads `load` made. */
async function readsOf(load: () => Promise<unknown>): Promise<number> {
  for (const spy of reads) spy.mockClear()
  await load()
  return reads.reduce((sum, spy) => sum + spy.mock.calls.length, 0)
}

/** The dashboard page's view, and the same view as an API query: the page always compares. */
const page = (period: string) => `/?site=counted&period=${period}`
const api = (period: string) => `/api/stats?site=counted&period=${period}&compare=previous`

describe('one read path for the dashboard page and /api/stats', () => {
  it('answers an equal /api/stats request from what the page read, and the other way round', async () => {
    await pageView('/')
    expect(await readsOf(() => text(page('7d')))).toBeGreaterThan(0)
    let json = ''
    expect(await readsOf(async () => (json = await text(api('7d'))))).toBe(0)
    expect(JSON.parse(json)).toMatchObject({ data: { summary: { pageviews: { value: 1 } } } })

    expect(await readsOf(() => text(api('30d')))).toBeGreaterThan(0)
    expect(await readsOf(() => text(page('30d')))).toBe(0)
  })

  it('reads again, for both, once a roll-up changed the counters', async () => {
    await pageView('/pricing')
    const apiReads = await readsOf(() => text(api('7d')))
    expect(apiReads).toBeGreaterThan(0)
    let html = ''
    expect(await readsOf(async () => (html = await text(page('7d'))))).toBe(0)
    expect(html).toContain('/pricing')

    // The page reads no more than the API answer does: nothing of its own for "has data".
    await pageView('/docs')
    expect(await readsOf(() => text(page('7d')))).toBe(apiReads)
  })

  it('leads with the snippet until something was counted, also once the live view forgot it', async () => {
    expect(await text('/?site=empty&period=7d')).toContain('id="onboarding"')
    // Past the live view's 30 minutes, only the counters know the counted site had visits.
    clock += 2 * 60 * MIN
    const later = await text(page('today'))
    expect(later).toContain('No events in the last 30 minutes')
    expect(later).not.toContain('id="onboarding"')
  })
})
