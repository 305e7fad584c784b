import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

let t: TestServer
let token = ''
beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: 'headers-password-1' })
  token = await t.signIn()
})
afterAll(async () => {
  await t.stop()
})

interface Probe {
  what: string
  path: string
  init?: () => RequestInit
  status: number
  /** HTML documents get a policy that lets them load their own assets; the rest get none. */
  html?: boolean
}

const bearer = () => ({ authorization: `Bearer ${token}` })

const PROBES: Probe[] = [
  { what: 'JSON success', path: '/api/sites', init: () => ({ headers: bearer() }), status: 200 },
  { what: 'JSON 401 from middleware', path: '/api/sites', status: 401 },
  { what: 'JSON 404 (no route)', path: '/no/such/route', status: 404 },
  {
    what: 'JSON 400 thrown and turned into an answer by onError',
    path: '/api/realtime',
    init: () => ({ headers: bearer() }),
    status: 400,
  },
  {
    what: 'JSON 413 thrown while reading a collector body',
    path: '/api/events',
    init: () => ({
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: 'x'.repeat(70 * 1024),
    }),
    status: 413,
  },
  {
    what: 'collector success',
    path: '/api/events',
    init: () => ({
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [{ event_type: 'page_view', page_url: 'https://h.example/', session_id: 's' }],
      }),
    }),
    status: 200,
  },
  { what: 'HTML page (sign-in)', path: '/', status: 200, html: true },
  {
    what: 'HTML fragment',
    path: '/api/realtime?site=default',
    init: () => ({ headers: { ...bearer(), 'hx-request': 'true' } }),
    status: 200,
  },
  { what: 'redirect', path: '/timeline', status: 303 },
  { what: '/docs', path: '/docs', status: 200, html: true },
  { what: '/openapi.json', path: '/openapi.json', status: 200 },
  { what: 'asset', path: '/assets/dashboard.css', status: 200 },
  { what: 'missing asset', path: '/assets/nope.js', status: 404 },
  { what: 'tracker', path: '/liveinsight.js', status: 200 },
  { what: 'health', path: '/health', status: 200 },
  { what: '/metrics', path: '/metrics', init: () => ({ headers: bearer() }), status: 200 },
]

function expectHardened(res: Response, html: boolean) {
  const h = res.headers
  expect(h.get('x-content-type-options')).toBe('nosniff')
  expect(h.get('x-frame-options')).toBe('DENY')
  expect(h.get('referrer-policy')).toMatch(/^(same-origin|strict-origin-when-cross-origin)$/)
  const csp = h.get('content-security-policy') ?? ''
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("base-uri 'none'")
  expect(csp).toContain("object-src 'none'")
  expect(csp).not.toContain('unsafe-inline')
  expect(csp).not.toContain('unsafe-eval')
  // A JSON answer or a script opened as a document may load nothing at all.
  expect(csp).toMatch(html ? /default-src '(self|none)'/ : /default-src 'none'/)
}

describe('security headers on every answer', () => {
  for (const probe of PROBES) {
    it(`${probe.what}: ${probe.path}`, async () => {
      const res = await fetch(`${t.url}${probe.path}`, { redirect: 'manual', ...probe.init?.() })
      expect(res.status).toBe(probe.status)
      expectHardened(res, probe.html ?? false)
      await res.body?.cancel()
    })
  }

  it('on the SSE stream', async () => {
    const abort = new AbortController()
    const res = await fetch(`${t.url}/api/realtime/stream?site=default`, {
      headers: bearer(),
      signal: abort.signal,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    expectHardened(res, false)
    abort.abort()
  })

  it('keeps the tracker loadable by any site', async () => {
    const res = await fetch(`${t.url}/liveinsight.js`)
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('content-type')).toMatch(/javascript/)
  })

  it('keeps the collector open to every origin', async () => {
    const res = await fetch(`${t.url}/api/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('lets /docs use its own inline style, by hash, and nothing else inline', async () => {
    const res = await fetch(`${t.url}/docs`)
    const body = await res.text()
    const style = body.match(/<style>([\s\S]*?)<\/style>/)?.[1]
    expect(style).toBeDefined()
    const hash = createHash('sha256')
      .update(style as string)
      .digest('base64')
    expect(res.headers.get('content-security-policy')).toContain(`style-src 'sha256-${hash}'`)
  })

  it('gives dashboard pages a policy that loads their /assets', async () => {
    const csp = (await fetch(`${t.url}/`)).headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).toContain("form-action 'self'")
  })
})
