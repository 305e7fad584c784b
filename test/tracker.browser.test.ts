import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TRACKER_FILE } from '../src/entry/tracker-script.ts'
import {
  desktopContext,
  launchChromium,
  type PageServer,
  recordBatches,
  type SentBatch,
  startPageServer,
} from './support/browser.ts'
import { startTestServer, TEST_API_KEY, type TestServer } from './support/embedded-server.ts'

// The real collector and a real Chromium: the tracker is built by `npm run build:tracker`
// (the first step of `npm test`), served by the collector and installed on a page of another
// origin, exactly as a site owner pastes it.

const SEC = 1000
const MIN = 60_000
/** The longest the tracker holds events with no page view among them. */
const HELD = 30 * SEC

interface StoredEvent {
  event_id: string
  client_session_id: string
  timestamp: number
  event_type: string
  page_url: string
  path: string
  title: string
  referrer: string
  user_id: string | null
  props: string | null
  engagement_ms: number | null
}

interface StoredSession {
  client_session_id: string
  user_id: string | null
  start_time: number
  end_time: number
  pageviews: number
  interactions: number
  screen: string
}

let t: TestServer
let site: PageServer
let browser: Browser
const contexts: BrowserContext[] = []
/** The batches of every tab the current test opened, each in the order the tab sent them. */
const sent: SentBatch[][] = []

function page(title: string, script: string, extra = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
${script}</head><body>
<a id="out" href="https://example.org/pricing?ref=x">partner</a>
<a id="in" href="/about">about</a>
<a id="mail" href="mailto:hello@example.org">mail</a>
<script>document.addEventListener('click', (e) => e.preventDefault())</script>
${extra}</body></html>`
}

beforeAll(async () => {
  t = await startTestServer()
  const tracker = readFileSync(TRACKER_FILE, 'utf8')
  site = await startPageServer((path) => {
    const remote = `${t.url}/liveinsight.js`
    if (path === '/self/liveinsight.js') return { type: 'text/javascript', body: tracker }
    // A copy of the tracker served by the site itself, sending to the collector via data-api.
    if (path.startsWith('/self/')) {
      return page(
        'Self-hosted',
        `<script defer src="/self/liveinsight.js" data-api="${t.url}" data-api-key="${TEST_API_KEY}"></script>`,
      )
    }
    if (path.startsWith('/dnt/')) {
      return page(
        'Private',
        `<script defer src="${remote}" data-api-key="${TEST_API_KEY}" data-respect-dnt></script>`,
      )
    }
    return page(
      `Page ${path}`,
      `<script defer src="${remote}" data-api-key="${TEST_API_KEY}"></script>`,
    )
  })
  browser = await launchChromium()
})

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()))
  sent.length = 0
})

afterAll(async () => {
  await browser?.close()
  await site?.close()
  await t?.stop()
})

/** A fresh browser context (no storage, fake timers running at real speed) on a site page. */
async function open(path = '/', setup?: (context: BrowserContext) => Promise<unknown>) {
  const context = await desktopContext(browser)
  contexts.push(context)
  await context.clock.install({ time: Date.now() })
  await setup?.(context)
  const tab = await context.newPage()
  const batches = recordBatches(tab)
  sent.push(batches)
  await tab.goto(`${site.url}${path}`)
  return { context, tab, batches }
}

const isCollected = (res: Response) =>
  res.request().method() === 'POST' && res.url().startsWith(`${t.url}/api/events?api_key=`)
const isFetchBatch = (res: Response) => isCollected(res) && res.request().resourceType() === 'fetch'
const isBeacon = (res: Response) => isCollected(res) && res.request().resourceType() === 'ping'

/**
 * Runs the page's clock until the tracker sends, then waits for the collector's answer and the
 * roll-up. A queued page view goes at the next 5 s tick (the default); other events alone are
 * held, and go within 30 s (`flush(tab, HELD)`).
 */
async function flush(tab: Page, ms = 5 * SEC): Promise<void> {
  const answered = tab.waitForResponse(isFetchBatch)
  await tab.clock.runFor(ms)
  expect((await answered).status()).toBe(200)
  await t.server.settle()
}

/** The page is hidden as when the user switches tabs or leaves: the tracker beacons. */
async function hide(tab: Page): Promise<void> {
  const beacon = tab.waitForResponse(isBeacon)
  await tab.evaluate(`
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
  `)
  expect((await beacon).status()).toBe(200)
  await t.server.settle()
}

const sessionIdOf = (tab: Page) => tab.evaluate<string>('sessionStorage.lis')

/**
 * A session's stored events in the order they happened: by timestamp, then by the order the
 * tracker sent them. Events a page makes in one go (a few history calls) share a millisecond,
 * and the store's own tie-break is the random event id.
 */
function eventsOf(clientSessionId: string): StoredEvent[] {
  const sentAt = new Map<string, number>()
  for (const event of sent.flat().flatMap((batch) => batch.events)) {
    const id = event.event_id as string
    if (!sentAt.has(id)) sentAt.set(id, sentAt.size)
  }
  const position = (event: StoredEvent) => sentAt.get(event.event_id) ?? Number.MAX_SAFE_INTEGER
  const events = t
    .db()
    .prepare('SELECT * FROM events WHERE client_session_id = ?')
    .all(clientSessionId) as StoredEvent[]
  return events.sort((a, b) => a.timestamp - b.timestamp || position(a) - position(b))
}

function sessionsOf(clientSessionId: string): StoredSession[] {
  return t
    .db()
    .prepare('SELECT * FROM sessions WHERE client_session_id = ? ORDER BY start_time')
    .all(clientSessionId) as StoredSession[]
}

const typesOf = (batches: SentBatch[]) => batches.map((b) => b.events.map((e) => e.event_type))

describe('GET /liveinsight.js', () => {
  it('is within its size budget: at most 1,000 bytes gzipped', () => {
    const built = readFileSync(TRACKER_FILE)
    expect(gzipSync(built, { level: 9 }).length).toBeLessThanOrEqual(1000)
  })

  it('serves the built tracker to any origin, cacheable, with a strong ETag', async () => {
    const res = await fetch(`${t.url}/liveinsight.js`, {
      headers: { 'accept-encoding': 'identity', origin: 'https://shop.example' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const etag = res.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect(await res.text()).toBe(readFileSync(TRACKER_FILE, 'utf8'))

    const again = await fetch(`${t.url}/liveinsight.js`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect(again.headers.get('cache-control')).toBe('public, max-age=3600')
    expect(await again.text()).toBe('')

    const stale = await fetch(`${t.url}/liveinsight.js`, { headers: { 'if-none-match': '"old"' } })
    expect(stale.status).toBe(200)
  })

  it('is gzipped when accepted; the compressed variant has a weak ETag that still matches', async () => {
    const res = await fetch(`${t.url}/liveinsight.js`, { headers: { 'accept-encoding': 'gzip' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('vary')).toMatch(/accept-encoding/i)
    expect(await res.text()).toBe(readFileSync(TRACKER_FILE, 'utf8'))
    const weak = res.headers.get('etag') ?? ''
    expect(weak).toMatch(/^W\/"/)
    const again = await fetch(`${t.url}/liveinsight.js`, {
      headers: { 'accept-encoding': 'gzip', 'if-none-match': weak },
    })
    expect(again.status).toBe(304)
  })
})

describe('tracker in Chromium', () => {
  it('counts a page view on load and on history navigation, one per URL', async () => {
    const { tab, batches } = await open('/')
    await flush(tab)
    // The clock stands still, so the three views share one millisecond, as they may at real
    // speed: their order must not rest on the timestamp alone.
    await tab.clock.pauseAt((await tab.evaluate<number>('Date.now()')) + 100)
    await tab.evaluate(`
      history.pushState({}, '', '/pricing')
      history.pushState({}, '', '/pricing')
      history.replaceState({ step: 2 }, '', '/pricing')
      history.pushState({}, '', '/docs')
      history.back()
    `)
    await tab.waitForURL(`${site.url}/pricing`)
    await flush(tab)

    const views = eventsOf(await sessionIdOf(tab)).filter((e) => e.event_type === 'page_view')
    expect(views.map((e) => e.path)).toEqual(['/', '/pricing', '/docs', '/pricing'])
    expect(views.map((e) => e.referrer)).toEqual([
      '',
      `${site.url}/`,
      `${site.url}/pricing`,
      `${site.url}/docs`,
    ])
    expect(views[0]).toMatchObject({ title: 'Page /', page_url: `${site.url}/` })
    expect(typesOf(batches)).toEqual([['page_view'], ['page_view', 'page_view', 'page_view']])
    for (const event of batches.flatMap((b) => b.events)) {
      expect(event.event_id).toMatch(/^[0-9a-f-]{36}$/)
      expect(Math.abs((event.timestamp as number) - Date.now())).toBeLessThan(MIN)
    }
  })

  it("sends the viewport's width with each event; the session keeps its first one's screen class", async () => {
    // Playwright's default viewport: 1280 px wide, a laptop.
    const { tab, batches } = await open('/wide')
    await flush(tab)
    await tab.setViewportSize({ width: 500, height: 800 })
    await tab.evaluate(`history.pushState({}, '', '/narrow')`)
    await flush(tab)

    const widths = batches.flatMap((b) => b.events.map((e) => [e.event_type, e.screen_width]))
    expect(widths).toEqual([
      ['page_view', 1280],
      ['page_view', 500],
    ])
    expect(sessionsOf(await sessionIdOf(tab))).toMatchObject([{ pageviews: 2, screen: 'laptop' }])
  })

  it('sends custom events with their props, and the user id once identified', async () => {
    const { tab, batches } = await open('/app')
    // Tracked before the page view went: they go with it, at the next 5 s tick.
    await tab.evaluate(`
      liveinsight.track('signup', { plan: 'pro', seats: 3, trial: true })
      liveinsight.identify('u1')
      liveinsight.track('upgrade')
    `)
    await flush(tab)
    expect(typesOf(batches)).toEqual([['page_view', 'signup', 'upgrade']])
    const sid = await sessionIdOf(tab)
    const events = eventsOf(sid)
    const signup = events.find((e) => e.event_type === 'signup')
    expect(signup).toMatchObject({ path: '/app', user_id: null })
    expect(JSON.parse(signup?.props ?? 'null')).toEqual({ plan: 'pro', seats: 3, trial: true })
    expect(events.find((e) => e.event_type === 'upgrade')).toMatchObject({
      user_id: 'u1',
      props: null,
    })
    expect(sessionsOf(sid)).toMatchObject([{ user_id: 'u1', pageviews: 1, interactions: 2 }])
  })

  it('records clicks on links to other hosts as outbound_click', async () => {
    const { tab } = await open('/links')
    await tab.click('#in')
    await tab.click('#mail')
    await tab.click('#out')
    await flush(tab)
    const others = async () =>
      eventsOf(await sessionIdOf(tab)).filter((e) => e.event_type !== 'page_view')
    // The click goes with the page view's batch, at its 5 s tick. Under load it can land just
    // after that batch left: alone, it is then held and goes within 30 s. Batch timing has its
    // own test; this one is about what is recorded.
    if ((await others()).length === 0) await flush(tab, HELD)
    const outbound = await others()
    expect(outbound).toHaveLength(1)
    expect(outbound[0]).toMatchObject({ event_type: 'outbound_click', path: '/links' })
    expect(JSON.parse(outbound[0]?.props ?? 'null')).toEqual({
      url: 'https://example.org/pricing?ref=x',
    })
  })

  it('batches events: a page view at the next 5 s tick, other events with the next page view, within 30 s, or at once at 10 events', async () => {
    const { tab, batches } = await open('/batch')
    await flush(tab)
    expect(typesOf(batches)).toEqual([['page_view']])

    // Custom events alone are held: not sent at the next four ticks (5 to 20 s on; the page's
    // clock also runs at real speed, so a busy machine adds a little)...
    await tab.evaluate(`for (const n of [1, 2, 3]) liveinsight.track('step', { n })`)
    await tab.clock.runFor(20 * SEC)
    await tab.waitForTimeout(300) // for a request, were one made, to reach the recorder
    expect(batches).toHaveLength(1)
    // ...but within 30 s, all in one request.
    await flush(tab, HELD - 20 * SEC)
    expect(typesOf(batches).slice(1)).toEqual([['step', 'step', 'step']])

    // A custom event followed by a page view: one request, at the page view's tick.
    await tab.evaluate(`liveinsight.track('pick', { plan: 'pro' })`)
    await tab.clock.runFor(2 * SEC)
    await tab.evaluate(`history.pushState({}, '', '/batch/next')`)
    await flush(tab)
    expect(typesOf(batches).slice(2)).toEqual([['pick', 'page_view']])

    // Ten queued events go out at once: with the clock stopped, the timer cannot send them.
    await tab.clock.pauseAt((await tab.evaluate<number>('Date.now()')) + 100)
    const answered = tab.waitForResponse(isFetchBatch)
    await tab.evaluate(`for (let n = 0; n < 10; n++) liveinsight.track('burst', { n })`)
    expect((await answered).status()).toBe(200)
    await t.server.settle()
    expect(batches).toHaveLength(4)
    expect(batches[3]?.events).toHaveLength(10)
    expect(batches.every((b) => b.via === 'fetch')).toBe(true)
    // No preflight before any of them: one request per batch, wherever the collector is.
    expect(batches.every((b) => b.corsSimple)).toBe(true)
    const stored = eventsOf(await sessionIdOf(tab))
    expect(stored.filter((e) => e.event_type === 'burst')).toHaveLength(10)
  })

  it('beacons the queue and the engagement time when the page is hidden', async () => {
    const { tab, batches } = await open('/read')
    await tab.clock.runFor(3 * SEC)
    await hide(tab)

    expect(batches).toHaveLength(1)
    expect(batches[0]?.via).toBe('beacon')
    expect(typesOf(batches)).toEqual([['page_view', 'engagement']])
    const sid = await sessionIdOf(tab)
    const engagement = eventsOf(sid).find((e) => e.event_type === 'engagement')
    expect(engagement?.engagement_ms).toBeGreaterThanOrEqual(3 * SEC)
    expect(engagement?.engagement_ms).toBeLessThan(MIN)
    // It lengthens the session but does not undo its bounce.
    const [session] = sessionsOf(sid)
    expect(session).toMatchObject({ pageviews: 1, interactions: 0 })
    expect((session?.end_time ?? 0) - (session?.start_time ?? 0)).toBeGreaterThanOrEqual(3 * SEC)

    // Hidden again without having been visible: nothing more to report.
    await tab.evaluate(`document.dispatchEvent(new Event('visibilitychange'))`)
    await tab.clock.runFor(6 * SEC)
    expect(batches).toHaveLength(1)
  })

  it('beacons held events when the page is hidden, and has nothing left to send after', async () => {
    const { tab, batches } = await open('/share')
    await flush(tab)
    await tab.evaluate(`liveinsight.track('share', { to: 'mail' })`)
    await tab.click('#out')
    await tab.clock.runFor(10 * SEC)
    await tab.waitForTimeout(300) // for a request, were one made, to reach the recorder
    expect(batches).toHaveLength(1)
    await hide(tab)

    expect(batches.map((b) => b.via)).toEqual(['fetch', 'beacon'])
    expect(typesOf(batches).slice(1)).toEqual([['share', 'outbound_click', 'engagement']])
    const stored = eventsOf(await sessionIdOf(tab)).map((e) => e.event_type)
    expect(stored).toEqual(['page_view', 'share', 'outbound_click', 'engagement'])
    await tab.clock.runFor(HELD + 5 * SEC)
    await tab.waitForTimeout(300) // for a request, were one made, to reach the recorder
    expect(batches).toHaveLength(2)
  })

  it('retries a batch the collector could not take, and it is stored once', async () => {
    const { tab, batches } = await open('/retry', async (context) => {
      let first = true
      await context.route(`${t.url}/api/events?*`, async (route) => {
        if (route.request().method() !== 'POST' || !first) return route.continue()
        first = false
        // The collector stores the batch, but the answer is lost behind a failing proxy.
        await route.fetch()
        return route.fulfill({
          status: 503,
          headers: { 'access-control-allow-origin': '*', 'retry-after': '1' },
          contentType: 'application/json',
          body: '{"status":"error","message":"unavailable; retry"}',
        })
      })
    })
    await tab.evaluate(`liveinsight.track('checkout', { total: 42 })`)
    const failed = tab.waitForResponse(isFetchBatch)
    await tab.clock.runFor(5 * SEC)
    expect((await failed).status()).toBe(503)

    const retried = tab.waitForResponse(isFetchBatch)
    await tab.clock.runFor(2 * SEC)
    expect((await retried).status()).toBe(200)
    await t.server.settle()

    expect(batches).toHaveLength(2)
    expect(batches[1]?.events).toEqual(batches[0]?.events)
    const stored = eventsOf(await sessionIdOf(tab))
    expect(stored.map((e) => e.event_type).sort()).toEqual(['checkout', 'page_view'])
    expect(stored.map((e) => e.event_id).sort()).toEqual(
      batches[0]?.events.map((e) => e.event_id).sort(),
    )
  })

  it('beacons a batch waiting for its retry when the page is hidden; the retry then sends nothing', async () => {
    const { tab, batches } = await open('/retry-hidden', async (context) => {
      let first = true
      await context.route(`${t.url}/api/events?*`, async (route) => {
        if (route.request().method() !== 'POST' || !first) return route.continue()
        first = false
        return route.fulfill({
          status: 503,
          headers: { 'access-control-allow-origin': '*' },
          contentType: 'application/json',
          body: '{"status":"error","message":"unavailable; retry"}',
        })
      })
    })
    await tab.evaluate(`liveinsight.track('checkout', { total: 42 })`)
    const failed = tab.waitForResponse(isFetchBatch)
    await tab.clock.runFor(5 * SEC)
    expect((await failed).status()).toBe(503)
    // Hidden before the retry (a second later): the beacon takes the batch.
    await hide(tab)
    await tab.clock.runFor(HELD)
    await tab.waitForTimeout(300) // for a request, were one made, to reach the recorder

    expect(batches.map((b) => b.via)).toEqual(['fetch', 'beacon'])
    expect(typesOf(batches)).toEqual([
      ['page_view', 'checkout'],
      ['page_view', 'checkout', 'engagement'],
    ])
    const stored = eventsOf(await sessionIdOf(tab)).map((e) => e.event_type)
    expect(stored).toEqual(['page_view', 'checkout', 'engagement'])
  })

  it('drops a batch the collector refuses for good (4xx other than 429)', async () => {
    const { tab, batches } = await open('/refused', (context) =>
      context.route(`${t.url}/api/events?*`, (route) =>
        route.request().method() === 'POST'
          ? route.fulfill({
              status: 400,
              headers: { 'access-control-allow-origin': '*' },
              contentType: 'application/json',
              body: '{"status":"error","message":"no valid events"}',
            })
          : route.continue(),
      ),
    )
    const refused = tab.waitForResponse(isFetchBatch)
    await tab.clock.runFor(5 * SEC)
    expect((await refused).status()).toBe(400)
    await tab.clock.runFor(20 * SEC)
    expect(batches).toHaveLength(1)
  })

  it('sets no cookie; the session id lives in sessionStorage and is renewed after 30 idle minutes', async () => {
    const { context, tab } = await open('/s')
    await flush(tab)
    const first = await sessionIdOf(tab)
    expect(first).toMatch(/^[0-9a-f-]{36}$/)
    expect(eventsOf(first)).toHaveLength(1)
    expect(await context.cookies()).toEqual([])
    expect(await tab.evaluate<string>('document.cookie')).toBe('')

    // A reload in the same tab continues the session.
    await tab.reload()
    await flush(tab)
    expect(await sessionIdOf(tab)).toBe(first)
    expect(eventsOf(first).map((e) => e.event_type)).toEqual(['page_view', 'page_view'])

    // The last event 31 minutes ago: the next event starts a new session.
    await tab.evaluate(`sessionStorage.lit = Date.now() - ${31 * MIN}`)
    await tab.evaluate(`liveinsight.track('back')`)
    await flush(tab, HELD)
    const second = await sessionIdOf(tab)
    expect(second).not.toBe(first)
    expect(eventsOf(second).map((e) => e.event_type)).toEqual(['back'])
    expect(await context.cookies()).toEqual([])
  })

  it('sends nothing with data-respect-dnt when the browser asks not to be tracked', async () => {
    const { tab, batches } = await open('/dnt/', (context) =>
      context.addInitScript(`Object.defineProperty(Navigator.prototype, 'doNotTrack', {
        get: () => '1', configurable: true })`),
    )
    // The API exists, so a site's own calls do not throw.
    await tab.evaluate(`liveinsight.track('signup'); liveinsight.identify('u2')`)
    await tab.clock.runFor(6 * SEC)
    await tab.evaluate(`
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    `)
    await tab.waitForTimeout(300)
    expect(batches).toEqual([])
    expect(await tab.evaluate('sessionStorage.length')).toBe(0)
  })

  it('sends to the data-api origin when the script is hosted elsewhere', async () => {
    const { tab, batches } = await open('/self/home')
    await flush(tab)
    expect(typesOf(batches)).toEqual([['page_view']])
    expect(eventsOf(await sessionIdOf(tab))).toMatchObject([
      { event_type: 'page_view', path: '/self/home', title: 'Self-hosted' },
    ])
  })
})
