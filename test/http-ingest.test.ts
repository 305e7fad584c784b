import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

const MIN = 60_000

let t: TestServer
beforeAll(async () => {
  t = await startTestServer()
})
afterAll(async () => {
  await t.stop()
})

interface Envelope {
  status: 'success' | 'error'
  data?: {
    accepted: number
    duplicates: number
    bots: number
    rejected: { index: number; message: string }[]
  }
  message?: string
  details?: { rejected: { index: number; message: string }[] }
}

async function json(response: Response): Promise<Envelope> {
  return (await response.json()) as Envelope
}

const page = (overrides: Record<string, unknown>) => ({
  event_type: 'page_view',
  page_url: 'https://shop.example/',
  ...overrides,
})

function sessionsOf(clientId: string) {
  return t
    .db()
    .prepare('SELECT * FROM sessions WHERE client_session_id = ? ORDER BY start_time')
    .all(clientId) as Array<Record<string, number | string>>
}

describe('POST /api/events stores events, sessions and counters in the SQLite file', () => {
  it('stores a batch and answers with the accepted count', async () => {
    const now = Date.now()
    const res = await t.post({
      events: [
        page({
          session_id: 'batch-1',
          timestamp: now - 3 * MIN,
          event_id: 'b1',
          page_url: 'https://Shop.Example/Home/?ref=x#top',
          referrer: 'https://www.google.com/search?q=a',
        }),
        page({
          session_id: 'batch-1',
          timestamp: now - 2 * MIN,
          event_id: 'b2',
          page_url: 'https://shop.example/pricing',
        }),
        {
          session_id: 'batch-1',
          timestamp: now - MIN,
          event_id: 'b3',
          event_type: 'signup',
          page_url: 'https://shop.example/pricing',
          props: { plan: 'pro' },
        },
      ],
    })
    expect(res.status).toBe(200)
    expect(await json(res)).toEqual({
      status: 'success',
      data: { accepted: 3, duplicates: 0, bots: 0, rejected: [] },
    })
    const events = t
      .db()
      .prepare(
        "SELECT event_id, path, page_url FROM events WHERE event_id LIKE 'b_' ORDER BY timestamp",
      )
      .all()
    expect(events).toEqual([
      { event_id: 'b1', path: '/Home', page_url: 'https://shop.example/Home' },
      { event_id: 'b2', path: '/pricing', page_url: 'https://shop.example/pricing' },
      { event_id: 'b3', path: '/pricing', page_url: 'https://shop.example/pricing' },
    ])
    const [session] = sessionsOf('batch-1')
    expect(session).toMatchObject({
      pageviews: 2,
      interactions: 1,
      entry_page: '/Home',
      exit_page: '/pricing',
      source: 'Google',
      channel: 'search',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
      end_time: Number(session?.start_time) + 2 * MIN,
    })
    const signups = t
      .db()
      .prepare("SELECT SUM(events) AS n FROM rollup_day WHERE dim = 'event' AND value = 'signup'")
      .get()
    expect(signups).toEqual({ n: 1 })
  })

  it('splits a session at a 31-minute gap and sorts out-of-order events', async () => {
    const now = Date.now()
    const res = await t.post({
      events: [
        page({
          session_id: 'gap',
          timestamp: now - 2 * MIN,
          page_url: 'https://shop.example/late',
        }),
        page({
          session_id: 'gap',
          timestamp: now - 40 * MIN,
          page_url: 'https://shop.example/first',
        }),
        page({
          session_id: 'gap',
          timestamp: now - 33 * MIN,
          page_url: 'https://shop.example/second',
        }),
      ],
    })
    expect(res.status).toBe(200)
    const sessions = sessionsOf('gap')
    expect(sessions.map((s) => [s.entry_page, s.exit_page, s.pageviews])).toEqual([
      ['/first', '/second', 2],
      ['/late', '/late', 1],
    ])
    expect(Number(sessions[0]?.end_time) - Number(sessions[0]?.start_time)).toBe(7 * MIN)
  })

  it('undoes a bounce when the second page view arrives in a later request', async () => {
    const now = Date.now()
    const bounces = () =>
      t
        .db()
        .prepare(
          "SELECT SUM(bounces) AS b, SUM(sessions) AS s FROM rollup_day WHERE dim = 'entry_page' AND value = '/bounce-test'",
        )
        .get() as { b: number; s: number }
    await t.post(
      page({
        session_id: 'bounce',
        timestamp: now - 5 * MIN,
        page_url: 'https://shop.example/bounce-test',
      }),
    )
    expect(bounces()).toEqual({ b: 1, s: 1 })
    await t.post(
      page({
        session_id: 'bounce',
        timestamp: now - 4 * MIN,
        page_url: 'https://shop.example/next',
      }),
    )
    expect(bounces()).toEqual({ b: 0, s: 1 })
  })

  it('drops bots, counts them, and never counts them as visitors', async () => {
    const before = t
      .db()
      .prepare(
        "SELECT COALESCE(SUM(bots),0) AS bots, COALESCE(SUM(visitors),0) AS visitors FROM rollup_day WHERE dim = ''",
      )
      .get() as { bots: number; visitors: number }
    const res = await t.post(page({ session_id: 'bot', page_url: 'https://shop.example/robots' }), {
      headers: {
        'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      },
    })
    expect((await json(res)).data).toMatchObject({ accepted: 1, bots: 1 })
    expect(sessionsOf('bot')).toEqual([])
    const after = t
      .db()
      .prepare("SELECT SUM(bots) AS bots, SUM(visitors) AS visitors FROM rollup_day WHERE dim = ''")
      .get()
    expect(after).toEqual({ bots: before.bots + 1, visitors: before.visitors })
  })

  it('treats a self-referral as direct traffic', async () => {
    await t.post(
      page({
        session_id: 'self',
        page_url: 'https://shop.example/x',
        referrer: 'https://www.shop.example/y',
      }),
    )
    expect(sessionsOf('self')[0]).toMatchObject({ source: 'Direct', channel: 'direct' })
  })

  it('stores a repeated event_id once across requests (tracker retries)', async () => {
    // A retry resends the same payload: same event_id, same timestamp.
    const event = page({ session_id: 'retry', event_id: 'retry-1', timestamp: Date.now() - 1000 })
    await t.post({ events: [event] })
    const again = await json(await t.post({ events: [event] }))
    expect(again.data).toMatchObject({ accepted: 1, duplicates: 1 })
    expect(
      t.db().prepare("SELECT count(*) AS n FROM events WHERE event_id = 'retry-1'").get(),
    ).toEqual({ n: 1 })
    expect(sessionsOf('retry')[0]?.pageviews).toBe(1)
  })

  it("accepts the original plan's minimal snippet without a session id", async () => {
    const res = await t.post({
      type: 'page_view',
      url: 'https://shop.example/minimal',
      timestamp: Math.floor(Date.now() / 1000),
    })
    expect(res.status).toBe(200)
    const row = t
      .db()
      .prepare("SELECT client_session_id, timestamp FROM events WHERE path = '/minimal'")
      .get() as { client_session_id: string; timestamp: number }
    expect(Math.abs(row.timestamp - Date.now())).toBeLessThan(10 * MIN)
    expect(row.client_session_id).toMatch(/^v:/)
    expect(sessionsOf(row.client_session_id)).toHaveLength(1)
  })

  it('takes a beacon: text/plain body and the key in the query string', async () => {
    const res = await fetch(`${t.url}/api/events?api_key=${TEST_API_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [page({ session_id: 'beacon', page_url: 'https://shop.example/beacon' })],
      }),
    })
    expect(res.status).toBe(200)
    await t.server.settle()
    expect(sessionsOf('beacon')).toHaveLength(1)
  })

  it('keeps the valid events of a batch and lists each rejected one', async () => {
    const res = await t.post({
      events: [
        page({ session_id: 'mixed', event_id: 'mixed-ok' }),
        page({ session_id: 'mixed', page_url: '/relative' }),
        page({ session_id: 'mixed', timestamp: Date.now() + 60 * MIN }),
        page({ session_id: 42 }),
        'not an event',
      ],
    })
    expect(res.status).toBe(200)
    const body = await json(res)
    expect(body.data?.accepted).toBe(1)
    expect(body.data?.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4])
    expect(body.data?.rejected[0]?.message).toMatch(/page_url.*absolute/)
    expect(body.data?.rejected[1]?.message).toMatch(/future/)
    expect(body.data?.rejected[2]?.message).toMatch(/session_id/)
    expect(
      t.db().prepare("SELECT count(*) AS n FROM events WHERE event_id = 'mixed-ok'").get(),
    ).toEqual({ n: 1 })
  })

  it('answers CORS preflights from any origin', async () => {
    const res = await fetch(`${t.url}/api/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://customer.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key',
      },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key')
  })

  it('lets a browser read its rejections: errors carry the CORS header too', async () => {
    const res = await t.post(page({}), { headers: { 'x-api-key': 'wrong-key-0123456789' } })
    expect(res.status).toBe(401)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('refuses a streamed body without Content-Length once it passes 64 KiB', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const res = await fetch(`${t.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect((await json(res)).message).toMatch(/larger than 65536/)
  })
})

describe('bad input gets a clear 4xx with the error envelope', () => {
  const cases: Array<{
    name: string
    send: () => Promise<Response>
    status: number
    message: RegExp
  }> = [
    {
      name: 'malformed JSON',
      send: () => t.post('{"events": [}'),
      status: 400,
      message: /not valid JSON/,
    },
    {
      name: 'events not an array',
      send: () => t.post({ events: 'x' }),
      status: 400,
      message: /array/,
    },
    { name: 'a JSON string body', send: () => t.post('"hello"'), status: 400, message: /events/ },
    { name: 'no events', send: () => t.post({ events: [] }), status: 400, message: /at least 1/ },
    {
      name: '101 events',
      send: () => t.post({ events: Array.from({ length: 101 }, () => page({})) }),
      status: 400,
      message: /at most 100/,
    },
    {
      name: 'a 65 KiB body',
      send: () => t.post({ events: [page({ title: 'x'.repeat(65 * 1024) })] }),
      status: 413,
      message: /larger than 65536/,
    },
    {
      name: 'no key',
      send: () => fetch(`${t.url}/api/events`, { method: 'POST', body: JSON.stringify(page({})) }),
      status: 401,
      message: /missing API key/,
    },
    {
      name: 'a wrong key',
      send: () => t.post(page({}), { headers: { 'x-api-key': 'wrong-key-0123456789' } }),
      status: 401,
      message: /unknown API key/,
    },
    {
      name: 'only a relative URL',
      send: () => t.post(page({ page_url: 'pricing' })),
      status: 400,
      message: /no valid events/,
    },
    {
      name: 'only a far-future timestamp',
      send: () => t.post(page({ timestamp: Date.now() + 24 * 60 * MIN })),
      status: 400,
      message: /no valid events/,
    },
    {
      name: 'wrong types',
      send: () => t.post(page({ timestamp: 'yesterday', props: { nested: { a: 1 } } })),
      status: 400,
      message: /no valid events/,
    },
  ]

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const res = await c.send()
      expect(res.status).toBe(c.status)
      const body = await json(res)
      expect(body.status).toBe('error')
      expect(body.message).toMatch(c.message)
    })
  }

  it('names every problem of a rejected event in details', async () => {
    const res = await t.post(page({ timestamp: 'yesterday', props: { nested: { a: 1 } } }))
    const body = await json(res)
    expect(body.details?.rejected[0]?.message).toMatch(/timestamp/)
    expect(body.details?.rejected[0]?.message).toMatch(/props/)
  })

  it('answers unknown routes with a 404 envelope', async () => {
    const res = await fetch(`${t.url}/nope`)
    expect(res.status).toBe(404)
    expect((await json(res)).status).toBe('error')
  })
})

describe('GET /health', () => {
  it('says up and the roll-up lag, and nothing more (details are at /metrics)', async () => {
    await t.server.settle()
    const res = await fetch(`${t.url}/health`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'success', data: { status: 'ok', rollup_lag_s: 0 } })
  })
})

describe('when storage fails', () => {
  it('answers 503 with Retry-After instead of acknowledging, and health says so', async () => {
    const broken = await startTestServer()
    await broken.server.store.close()
    const res = await broken.post(page({ session_id: 'lost' }))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect((await json(res)).message).toMatch(/retry/)
    const health = await fetch(`${broken.url}/health`)
    expect(health.status).toBe(503)
    expect((await json(health)).message).toBe('storage failing')
    await broken.stop().catch(() => undefined)
  })
})
