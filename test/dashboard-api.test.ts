import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { type EmbeddedServer, startEmbedded } from '../src/entry/embedded.ts'
import type { RealtimeSnapshot } from '../src/live/live-window.ts'
import { createLogger } from '../src/log/logger.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { CHROME_UA } from './support/embedded-server.ts'

const PASSWORD = 'dashboard-password-1'
const INGEST_KEY = 'dashboard_test_ingest_key_1'
const HOUR = 3_600_000
const MIN = 60_000
let clock = Date.UTC(2026, 4, 1, 12, 0)
let server: EmbeddedServer
let token = ''
const dir = tempDir()

const READ_ROUTES = [
  '/api/realtime?site=default',
  '/api/realtime/stream?site=default',
  '/api/stats?site=default&period=7d',
  '/api/sessions/any',
  '/api/users/u1/sessions?site=default',
  '/api/sites',
]

async function login(password: string, ip = '10.0.0.1') {
  return fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'x-forwarded-for': ip, 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  })
}

const authed = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  })

/** The session view a session route answers with (200 expected). */
async function sessionAt(path: string): Promise<Record<string, unknown>> {
  const res = await authed(path)
  expect(res.status).toBe(200)
  return ((await res.json()) as { data: { session: Record<string, unknown> } }).data.session
}

beforeAll(async () => {
  const config = parseConfig({
    PORT: '0',
    DATA_DIR: dir.path,
    ADMIN_PASSWORD: PASSWORD,
    API_KEY: INGEST_KEY,
    TRUST_PROXY: 'true',
    SQLITE_SYNCHRONOUS: 'NORMAL',
  })
  server = await startEmbedded(config, createLogger('silent'), { now: () => clock })
  const res = await login(PASSWORD)
  token = ((await res.json()) as { data: { token: string } }).data.token
})
afterAll(async () => {
  await server.close()
  dir.remove()
})

describe('sign-in', () => {
  it('returns a token and sets an HttpOnly, SameSite=Strict cookie that opens read routes', async () => {
    const res = await login(PASSWORD, '10.0.0.2')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: { token: string; expires_at: string } }
    expect(body.data.token.split('.')).toHaveLength(3)
    expect(Date.parse(body.data.expires_at) - clock).toBe(12 * HOUR)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^li_session=/)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const viaCookie = await fetch(`${server.url}/api/sites`, {
      headers: { cookie: cookie.split(';')[0] as string },
    })
    expect(viaCookie.status).toBe(200)
  })

  it('refuses a wrong password, then rate limits the IP after five failures', async () => {
    for (let i = 0; i < 5; i++) expect((await login('wrong-password', '10.9.9.9')).status).toBe(401)
    const limited = await login(PASSWORD, '10.9.9.9')
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another IP is not affected.
    expect((await login(PASSWORD, '10.9.9.8')).status).toBe(200)
  })

  it('answers malformed sign-in bodies with 400', async () => {
    const json = { 'content-type': 'application/json' }
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: json,
      body: '{',
    })
    expect(res.status).toBe(400)
    const empty = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: json,
      body: '{}',
    })
    expect(empty.status).toBe(400)
  })
})

describe('every read route refuses', () => {
  const expired = async () => {
    const saved = clock
    clock -= 13 * HOUR
    const res = await login(PASSWORD, '10.0.0.3')
    clock = saved
    return ((await res.json()) as { data: { token: string } }).data.token
  }
  for (const route of READ_ROUTES) {
    it(`${route}: no token, a bad token, an expired token, an ingest key`, async () => {
      const url = `${server.url}${route}`
      expect((await fetch(url)).status).toBe(401)
      expect((await fetch(url, { headers: { authorization: 'Bearer not.a.token' } })).status).toBe(
        401,
      )
      const old = await expired()
      expect((await fetch(url, { headers: { authorization: `Bearer ${old}` } })).status).toBe(401)
      expect((await fetch(url, { headers: { 'x-api-key': INGEST_KEY } })).status).toBe(401)
      expect(
        (await fetch(url, { headers: { authorization: `Bearer ${INGEST_KEY}` } })).status,
      ).toBe(401)
    })
  }
})

describe('sites', () => {
  it('creates a site with its own key, lists it, and rotates the key', async () => {
    const created = await authed('/api/sites', {
      method: 'POST',
      body: JSON.stringify({ name: 'Blog', domain: 'Blog.Example', timezone: 'Europe/Berlin' }),
    })
    expect(created.status).toBe(201)
    const site = ((await created.json()) as { data: { site: Record<string, string> } }).data.site
    expect(site).toMatchObject({ name: 'Blog', domain: 'blog.example', timezone: 'Europe/Berlin' })
    expect(site.id).toMatch(/^blog-[0-9a-f]{6}$/)
    const list = (await (await authed('/api/sites')).json()) as {
      data: { sites: { id: string }[] }
    }
    expect(list.data.sites.map((s) => s.id)).toContain(site.id)

    const rotated = await authed(`/api/sites/${site.id}/rotate-key`, { method: 'POST' })
    const newKey = ((await rotated.json()) as { data: { site: { api_key: string } } }).data.site
      .api_key
    expect(newKey).not.toBe(site.api_key)
    const post = (key: string) =>
      fetch(`${server.url}/api/events`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'user-agent': CHROME_UA },
        body: JSON.stringify({ type: 'page_view', url: 'https://blog.example/', timestamp: clock }),
      })
    expect((await post(newKey)).status).toBe(200)
    expect((await post(site.api_key as string)).status).toBe(401)
  })

  it('refuses an invalid time zone or domain', async () => {
    const res = await authed('/api/sites', {
      method: 'POST',
      body: JSON.stringify({ name: 'X', domain: 'x.example', timezone: 'Mars/Olympus' }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { message: string }).message).toMatch(/timezone/)
    const bad = await authed('/api/sites', {
      method: 'POST',
      body: JSON.stringify({ name: 'X', domain: 'https://x.example/' }),
    })
    expect(bad.status).toBe(400)
    expect((await authed('/api/sites/nope/rotate-key', { method: 'POST' })).status).toBe(404)
  })
})

describe('sessions and users', () => {
  it("returns a session's timeline and a user's sessions newest first, paginated", async () => {
    const send = (events: object[]) =>
      fetch(`${server.url}/api/events`, {
        method: 'POST',
        headers: { 'x-api-key': INGEST_KEY, 'user-agent': CHROME_UA },
        body: JSON.stringify({ events }),
      })
    const base = clock - 5 * HOUR
    const ev = (session_id: string, t: number, path: string, extra: object = {}) => ({
      session_id,
      user_id: 'alice',
      timestamp: t,
      event_type: 'page_view',
      page_url: `https://site.example${path}`,
      title: `Title ${path}`,
      ...extra,
    })
    expect(
      (
        await send([
          ev('s-1', base, '/one?utm_term=shoes&utm_content=hero', {
            screen_width: 800,
            title: 'Title /one',
          }),
          ev('s-1', base + 60_000, '/two'),
          ev('s-2', base + 2 * HOUR, '/three'),
          ev('s-3', base + 4 * HOUR, '/four', { event_type: 'purchase', props: { total: 9 } }),
        ])
      ).status,
    ).toBe(200)
    await server.settle()

    const page1 = (await (
      await authed('/api/users/alice/sessions?site=default&limit=2')
    ).json()) as {
      data: { sessions: Array<Record<string, unknown>>; next_before: number | null }
    }
    expect(page1.data.sessions.map((s) => s.entry_page)).toEqual(['/four', '/three'])
    expect(page1.data.next_before).toBe(base + 2 * HOUR)
    const page2 = (await (
      await authed(
        `/api/users/alice/sessions?site=default&limit=2&before=${page1.data.next_before}`,
      )
    ).json()) as { data: { sessions: Array<Record<string, unknown>>; next_before: number | null } }
    expect(page2.data.sessions.map((s) => s.entry_page)).toEqual(['/one'])
    expect(page2.data.next_before).toBeNull()

    // Every view carries both ids; the stored one opens the session with no site.
    expect(page2.data.sessions[0]).toMatchObject({ session_id: 's-1', site_id: 'default' })
    const id = page2.data.sessions[0]?.id as string
    const detail = (await (await authed(`/api/sessions/${id}`)).json()) as {
      data: { session: Record<string, unknown>; events: Array<Record<string, unknown>> }
    }
    expect(detail.data.session).toMatchObject({
      id,
      session_id: 's-1',
      duration_s: 60,
      pageviews: 2,
      bounce: false,
      entry_page: '/one',
      exit_page: '/two',
      browser: 'Chrome',
      hostname: 'site.example',
      utm_term: 'shoes',
      utm_content: 'hero',
      screen: 'tablet',
    })
    expect(detail.data.events.map((e) => [e.path, e.title])).toEqual([
      ['/one', 'Title /one'],
      ['/two', 'Title /two'],
    ])
    expect((await authed('/api/sessions/does-not-exist')).status).toBe(404)
    expect((await authed('/api/users/alice/sessions')).status).toBe(400)
    // Sent along with its site, the stored id still names the session.
    expect(await sessionAt(`/api/sessions/${id}?site=default`)).toMatchObject({ id })
  })

  it('calls a one-page session a bounce only without interactions; engagement undoes none', async () => {
    const base = clock - 3 * HOUR
    const ev = (session_id: string, t: number, event_type: string, extra: object = {}) => ({
      session_id,
      user_id: 'bob',
      timestamp: t,
      event_type,
      page_url: `https://site.example/${session_id}`,
      ...extra,
    })
    const res = await fetch(`${server.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': INGEST_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [
          ev('alone', base, 'page_view'),
          ev('read', base + HOUR, 'page_view'),
          ev('read', base + HOUR + 30_000, 'engagement', { engagement_ms: 30_000 }),
          ev('clicked', base + 2 * HOUR, 'page_view'),
          ev('clicked', base + 2 * HOUR + 10_000, 'outbound_click', {
            props: { url: 'https://partner.example/' },
          }),
        ],
      }),
    })
    expect(res.status).toBe(200)
    await server.settle()

    const body = (await (await authed('/api/users/bob/sessions?site=default')).json()) as {
      data: { sessions: Array<Record<string, unknown>> }
    }
    expect(body.data.sessions.map((s) => [s.entry_page, s.pageviews, s.bounce])).toEqual([
      ['/clicked', 1, false],
      ['/read', 1, true],
      ['/alone', 1, true],
    ])
  })
})

describe('one session id across the API', () => {
  const send = async (events: object[]) => {
    const res = await fetch(`${server.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': INGEST_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({ events }),
    })
    expect(res.status).toBe(200)
    await server.settle()
  }
  const view = (session_id: string, timestamp: number, path: string) => ({
    session_id,
    timestamp,
    event_type: 'page_view',
    page_url: `https://site.example${path}`,
  })

  it("follows a live event to its session by the tracker's session id", async () => {
    await send([view('live-1', clock - 2 * MIN, '/in'), view('live-1', clock - MIN, '/out')])
    const live = (await (await authed('/api/realtime?site=default')).json()) as {
      data: RealtimeSnapshot
    }
    const latest = live.data.recent_events[0]
    expect(latest).toMatchObject({ session_id: 'live-1', page_url: '/out' })
    const { session_id, timestamp } = latest as RealtimeSnapshot['recent_events'][number]

    const res = await authed(`/api/sessions/${encodeURIComponent(session_id)}?site=default`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      data: { session: Record<string, unknown>; events: Array<Record<string, unknown>> }
    }
    expect(body.data.session).toMatchObject({
      session_id: 'live-1',
      site_id: 'default',
      entry_page: '/in',
      exit_page: '/out',
      pageviews: 2,
    })
    expect(body.data.events.map((e) => e.path)).toEqual(['/in', '/out'])
    // The event's own time, as the feed gives it, names the same session; so does its stored id.
    const atEvent = `/api/sessions/live-1?site=default&at=${encodeURIComponent(timestamp)}`
    expect(await sessionAt(atEvent)).toEqual(body.data.session)
    expect(await sessionAt(`/api/sessions/${body.data.session.id}`)).toEqual(body.data.session)
  })

  it('picks, of the sessions one tracker id made, the one at `at`', async () => {
    // Two hours apart: two sessions of one tracker session id.
    const early = clock - 3 * HOUR
    const late = clock - HOUR
    await send([
      view('twice', early, '/early'),
      view('twice', early + MIN, '/early-2'),
      view('twice', late, '/late'),
    ])
    const entryAt = async (query: string) =>
      (await sessionAt(`/api/sessions/twice?site=default${query}`)).entry_page
    expect(await entryAt(`&at=${early + 30_000}`)).toBe('/early')
    expect(await entryAt(`&at=${late}`)).toBe('/late')
    expect(await entryAt(`&at=${new Date(early + MIN).toISOString()}`)).toBe('/early')
    // Outside both: the nearest. Without `at`: now, on the server clock.
    expect(await entryAt(`&at=${early - 10 * MIN}`)).toBe('/early')
    expect(await entryAt(`&at=${late - 20 * MIN}`)).toBe('/late')
    expect(await entryAt('')).toBe('/late')
    const [a, b] = await Promise.all([
      sessionAt(`/api/sessions/twice?site=default&at=${early}`),
      sessionAt(`/api/sessions/twice?site=default&at=${late}`),
    ])
    expect(a.id).not.toBe(b.id)
    expect([a.session_id, b.session_id]).toEqual(['twice', 'twice'])
  })

  it('answers an unknown session or site with 404 and a bad `at` or site with 400', async () => {
    await send([view('known', clock - MIN, '/')])
    const failure = async (path: string, status: number) => {
      const res = await authed(path)
      expect(res.status).toBe(status)
      const body = (await res.json()) as { status: string; message: string }
      expect(body.status).toBe('error')
      return body.message
    }
    expect(await failure('/api/sessions/unknown?site=default', 404)).toMatch(/no such session/)
    expect(await failure('/api/sessions/known?site=nope', 404)).toBe('no site nope')
    // A tracker id is unique per site only: without a site it is not looked up as one.
    expect(await failure('/api/sessions/known', 404)).toMatch(/needs \?site=/)
    for (const at of ['yesterday', '-5', '1.5', '', '2026-13-01T00:00:00Z']) {
      expect(await failure(`/api/sessions/known?site=default&at=${at}`, 400)).toMatch(
        /^at: must be epoch milliseconds or an ISO 8601 date-time/,
      )
    }
    expect(await failure('/api/sessions/known?site=', 400)).toMatch(/^site: /)
  })
})

describe('stats cache', () => {
  it('keeps an answer only until the roll-up changes the counters', async () => {
    const pageviews = async () => {
      const res = await authed('/api/stats?site=default&period=today')
      expect(res.headers.get('cache-control')).toBe('private, max-age=30')
      const body = (await res.json()) as { data: { summary: { pageviews: { value: number } } } }
      return body.data.summary.pageviews.value
    }
    const before = await pageviews()
    const res = await fetch(`${server.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': INGEST_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [
          { event_type: 'page_view', page_url: 'https://site.example/new', timestamp: clock },
        ],
      }),
    })
    expect(res.status).toBe(200)
    await server.settle()
    // The clock has not moved: a 30 s cache keyed on the query alone would answer `before`.
    expect(await pageviews()).toBe(before + 1)
    expect(await pageviews()).toBe(before + 1)
  })
})
