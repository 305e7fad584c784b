import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureDefaultSite } from '../src/entry/default-site.ts'
import { type AppOverSqlite, appOverSqlite } from './support/app-over-sqlite.ts'
import { CHROME_UA } from './support/embedded-server.ts'

const SEC = 1000
const INGEST_KEY = 'lag_test_ingest_key_1'
/** The server clock: the store's accepts record their time by it, the routes read by it. */
let clock = Date.UTC(2026, 4, 1, 12, 0)
let t: AppOverSqlite

/** A pipeline that only accepts: what it accepts waits, as behind a roll-up that cannot keep up. */
beforeAll(async () => {
  t = await appOverSqlite({
    now: () => clock,
    statsCacheMs: 30_000,
    rollUp: false,
    prepare: (store) => ensureDefaultSite(store, INGEST_KEY, clock),
  })
})
afterAll(() => t.close())

const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
  t.get(path, headers)

async function data(path: string): Promise<Record<string, unknown>> {
  const res = await get(path)
  expect(res.status).toBe(200)
  return ((await res.json()) as { data: Record<string, unknown> }).data
}

/** A gauge of GET /metrics (Prometheus text), where the backlog and the lag are exported. */
async function gauge(name: string): Promise<number> {
  const res = await get('/metrics')
  expect(res.status).toBe(200)
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `))
  return Number(line?.slice(name.length + 1))
}

async function backlogAndLag() {
  return {
    rollup_backlog: await gauge('liveinsight_rollup_backlog'),
    rollup_lag_s: await gauge('liveinsight_rollup_lag_seconds'),
  }
}

const STATS = '/api/stats?site=default&period=today'
/** The stats fragment HTMX asks for, and the dashboard page's stats panel. */
async function statsHtml(): Promise<string[]> {
  return Promise.all([
    get(STATS, { 'HX-Request': 'true' }).then((res) => res.text()),
    get('/?site=default&period=today').then((res) => res.text()),
  ])
}

describe('how far stats trail ingestion', () => {
  it('is 0 while nothing waits for the roll-up, and goes unmentioned', async () => {
    expect(await data(STATS)).toMatchObject({ rollup_lag_s: 0 })
    expect(await backlogAndLag()).toEqual({ rollup_backlog: 0, rollup_lag_s: 0 })
    for (const html of await statsHtml()) expect(html).not.toContain('behind')
  })

  it('grows while accepted events wait, past the cached counters, and is shown after 2 s', async () => {
    const res = await t.app.request('/api/events', {
      method: 'POST',
      headers: { 'x-api-key': INGEST_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [{ event_type: 'page_view', page_url: 'https://site.example/', timestamp: clock }],
      }),
    })
    expect(res.status).toBe(200)
    clock += 2 * SEC
    const first = await data(STATS)
    expect(first).toMatchObject({ rollup_lag_s: 2, summary: { pageviews: { value: 0 } } })
    for (const html of await statsHtml()) expect(html).not.toContain('Stats are')

    // Within the cache's 30 s, with the counters unchanged: the counted part may come from
    // the cache, the lag may not.
    clock += 1 * SEC
    expect(await data(STATS)).toEqual({ ...first, rollup_lag_s: 3 })
    expect(await backlogAndLag()).toEqual({ rollup_backlog: 1, rollup_lag_s: 3 })
    // Public, as the load balancer sees it: up, and 3 s behind.
    const health = await t.app.request('/health')
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({
      status: 'success',
      data: { status: 'ok', rollup_lag_s: 3 },
    })
    const [fragment, page] = await statsHtml()
    expect(fragment).toContain('data-rollup-lag="3">Stats are 3 s behind</p>')
    expect(page).toContain('Stats are 3 s behind: the newest events are not counted yet.')
  })
})

describe('what the counters miss', () => {
  it('says counts are incomplete, and since when, once the roll-up set an event aside', async () => {
    expect(await data(STATS)).toMatchObject({ uncounted: null })
    for (const html of await statsHtml()) expect(html).not.toContain('incomplete')
    expect(await gauge('liveinsight_rollup_set_aside_items')).toBe(0)
    // The oldest waiting event fails the roll-up on its own: it is moved aside, not counted.
    const [oldest] = await t.store.pending(1)
    if (!oldest || oldest.item.kind !== 'event') throw new Error('no event waits')
    await t.store.deadLetter(oldest, 'always fails', clock)
    const since = oldest.item.event.timestamp
    // Read past the cache, as the lag is: the counters did not change.
    expect(await data(STATS)).toMatchObject({ uncounted: { items: 1, since } })
    expect(await gauge('liveinsight_rollup_set_aside_items')).toBe(1)
    for (const html of await statsHtml()) {
      expect(html).toContain('data-uncounted="1"')
      expect(html).toContain('1 event could not be counted')
    }
  })
})
