import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RealtimeSnapshot } from '../src/live/live-window.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'
import { sseReader } from './support/sse-reader.ts'

const SEC = 1000
const MIN = 60_000
const PASSWORD = 'test-password-123'

// The server's clock: a real recent time (daily salts, sweeps) that only the test moves.
const START = Math.floor(Date.now() / MIN) * MIN + 10 * SEC
let clock = START
let t: TestServer
let site = ''
let token = ''
let stopped = false

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD }, { now: () => clock })
  site = t.server.site.id
  token = await t.signIn()
})
afterAll(async () => {
  if (!stopped) await t.stop()
})

const authed = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } })

async function snapshot(): Promise<RealtimeSnapshot> {
  const res = await authed(`/api/realtime?site=${site}`)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { status: string; data: RealtimeSnapshot }
  expect(body.status).toBe('success')
  return body.data
}

async function post(events: Record<string, unknown>[]) {
  const res = await t.post({ events })
  expect(res.status).toBe(200)
  expect(((await res.json()) as { data: { accepted: number } }).data.accepted).toBe(events.length)
}

const view = (user: string, session: string, path: string, at: number, more = {}) => ({
  event_type: 'page_view',
  page_url: `https://shop.example${path}`,
  user_id: user,
  session_id: session,
  timestamp: at,
  ...more,
})

describe('GET /api/realtime', () => {
  it('refuses requests without a dashboard token', async () => {
    expect((await fetch(`${t.url}/api/realtime?site=${site}`)).status).toBe(401)
    expect((await fetch(`${t.url}/api/realtime/stream?site=${site}`)).status).toBe(401)
  })

  it('answers 400 without a site and 404 for an unknown one', async () => {
    const missing = await authed('/api/realtime')
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({ status: 'error', message: 'site is required' })
    expect((await authed('/api/realtime?site=nope')).status).toBe(404)
    expect((await authed('/api/realtime/stream?site=nope')).status).toBe(404)
  })

  it('counts what was just ingested, cacheable for at most 3 seconds', async () => {
    // The minute starts 10 s before `clock`: alice is in minute −2, bob in −2 and −1.
    await post([
      view('alice', 'sa', '/pricing', clock - 2 * MIN, {
        referrer: 'https://www.google.com/search?q=x',
      }),
      view('bob', 'sb', '/', clock - 90 * SEC),
      view('bob', 'sb', '/docs', clock - 30 * SEC, { title: 'Docs' }),
      { ...view('carol', 'sc', '/signup', clock - 10 * MIN), event_type: 'signup' },
    ])
    const res = await authed(`/api/realtime?site=${site}`)
    expect(res.headers.get('cache-control')).toBe('private, max-age=3')
    const data = ((await res.json()) as { data: RealtimeSnapshot }).data
    const chart = Array<number>(30).fill(0)
    chart[27] = 2
    chart[28] = 1
    expect(data).toMatchObject({
      active_visitors: 2, // carol's only event is 10 minutes old
      active_sessions: 3,
      pages: [
        { page_url: '/docs', visitors: 1 },
        { page_url: '/pricing', visitors: 1 },
      ],
      pageviews_per_minute: chart,
      events_last_5m: 3,
      sources: [
        { source: 'Direct', visitors: 1 },
        { source: 'Google', visitors: 1 },
      ],
      devices: [{ device: 'desktop', visitors: 2 }],
      countries: [{ country: '', visitors: 2 }],
      approximate: false,
      generated_at: new Date(clock).toISOString(),
    })
    expect(data.recent_events.map((e) => [e.page_url, e.event_type])).toEqual([
      ['/docs', 'page_view'],
      ['/', 'page_view'],
      ['/pricing', 'page_view'],
      ['/signup', 'signup'],
    ])
    expect(data.recent_events[0]).toMatchObject({
      timestamp: new Date(clock - 30 * SEC).toISOString(),
      title: 'Docs',
      device: 'desktop',
    })
  })

  it('lets visitors age out after 5 minutes and sessions after 30', async () => {
    clock = START + 6 * MIN
    expect(await snapshot()).toMatchObject({ active_visitors: 0, active_sessions: 3, pages: [] })
    clock = START + 31 * MIN
    expect(await snapshot()).toMatchObject({ active_visitors: 0, active_sessions: 0 })
  })

  it('renders an HTMX fragment with every attacker-controlled string escaped', async () => {
    await post([
      view('mallory', 'sm', '/<img src=x onerror=alert(1)>', clock - SEC, {
        title: '<script>alert(1)</script>',
      }),
    ])
    const res = await authed(`/api/realtime?site=${site}`, { 'HX-Request': 'true' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const page = await res.text()
    expect(page).toContain('data-metric="active_visitors">1<')
    expect(page).toContain('/&lt;img src=x onerror=alert(1)&gt;')
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(page).not.toContain('<img')
    expect(page).not.toContain('<script')
  })
})

describe('GET /api/realtime/stream', () => {
  it('pushes a snapshot at once, then one with a new event pushed for it', async () => {
    const abort = new AbortController()
    const res = await fetch(`${t.url}/api/realtime/stream?site=${site}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const sse = sseReader(res.body as ReadableStream<Uint8Array>)
    const first = JSON.parse((await sse.nextEvent('snapshot')).data) as RealtimeSnapshot
    expect(first.active_visitors).toBe(1) // mallory, from the previous test

    // Inside the 1 s gap after a push, so the server must schedule the next push rather than
    // drop or send it; 200 ms in leaves timer jitter on a loaded machine some room.
    await new Promise((resolve) => setTimeout(resolve, 200))
    await post([view('erin', 'se', '/live-now', clock)])
    // The event's own push brings it: a dropped request would only be served by the
    // keepalive, which writes a ping first. Timing is left to push-throttle.test.ts (fake clock).
    const before: string[] = []
    let latest = first
    while (latest.recent_events[0]?.page_url !== '/live-now') {
      const message = await sse.next()
      if (!message) throw new Error('the stream ended before the push')
      if (message.event === 'snapshot') latest = JSON.parse(message.data) as RealtimeSnapshot
      else before.push(message.comment ?? message.event)
    }
    expect(before).toEqual([])
    expect(latest.active_visitors).toBe(2)
    expect(latest.pages).toContainEqual({ page_url: '/live-now', visitors: 1 })
    abort.abort()
  })

  it('ends a stream when its token is signed out, and keeps another token’s going', async () => {
    const other = await t.signIn()
    const open = async (bearer: string) => {
      const res = await fetch(`${t.url}/api/realtime/stream?site=${site}`, {
        headers: { authorization: `Bearer ${bearer}` },
      })
      const sse = sseReader(res.body as ReadableStream<Uint8Array>)
      await sse.nextEvent('snapshot')
      return sse
    }
    const [signedOut, kept] = await Promise.all([open(other), open(token)])
    const res = await fetch(`${t.url}/api/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}` },
    })
    expect(res.status).toBe(200)
    // Left open, it would go on with pushes and keepalive pings instead of ending.
    expect(await signedOut.next()).toBeUndefined()
    await post([view('frank', 'sf', '/after-sign-out', clock)])
    const pushed = JSON.parse((await kept.nextEvent('snapshot')).data) as RealtimeSnapshot
    expect(pushed.recent_events[0]?.page_url).toBe('/after-sign-out')
    await kept.cancel()
  })

  it('ends open streams when the server shuts down', async () => {
    const res = await authed(`/api/realtime/stream?site=${site}`)
    const sse = sseReader(res.body as ReadableStream<Uint8Array>)
    await sse.nextEvent('snapshot')
    stopped = true
    const stopping = t.stop()
    // Left open, the stream would go on with keepalive pings instead of ending.
    expect(await sse.next()).toBeUndefined()
    // The whole close may still wait for a spare connection the client opened without a request.
    await stopping
  })
})

describe('the live view across a restart', () => {
  it('is rebuilt from the stored events of the last half hour', async () => {
    const dir = tempDir()
    const now = Date.now()
    const first = await startTestServer({ ADMIN_PASSWORD: PASSWORD }, { dataDir: dir.path })
    try {
      const events = [view('uma', 'su', '/before-restart', now - MIN), view('vic', 'sv', '/', now)]
      expect((await first.post({ events })).status).toBe(200)
    } finally {
      await first.stop()
    }

    const second = await startTestServer({ ADMIN_PASSWORD: PASSWORD }, { dataDir: dir.path })
    try {
      const res = await fetch(`${second.url}/api/realtime?site=${second.server.site.id}`, {
        headers: { authorization: `Bearer ${await second.signIn()}` },
      })
      const data = ((await res.json()) as { data: RealtimeSnapshot }).data
      expect(data.active_visitors).toBe(2)
      expect(data.recent_events.map((e) => e.page_url)).toEqual(['/', '/before-restart'])
    } finally {
      await second.stop()
      dir.remove()
    }
  })
})
