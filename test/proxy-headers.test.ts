import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ORIGIN_SECRET_HEADER } from '../src/http/origin-check.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'proxy-password-1'
let direct: TestServer
let proxied: TestServer

beforeAll(async () => {
  direct = await startTestServer({ ADMIN_PASSWORD: PASSWORD })
  proxied = await startTestServer({ ADMIN_PASSWORD: PASSWORD, TRUST_PROXY: '1' })
})
afterAll(async () => {
  await direct.stop()
  await proxied.stop()
})

/** A JSON sign-in from `ip` (as the proxy appends it), with any other headers. */
function login(t: TestServer, password: string, headers: Record<string, string>) {
  return fetch(`${t.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ password }),
  })
}

const event = (sessionId: string) => ({
  events: [{ session_id: sessionId, event_type: 'page_view', page_url: 'https://shop.example/' }],
})

function stored(t: TestServer, prefix: string) {
  return t
    .db()
    .prepare('SELECT visitor_id, country FROM events WHERE client_session_id LIKE ?')
    .all(`${prefix}%`) as { visitor_id: string; country: string }[]
}

describe('behind one trusted proxy (TRUST_PROXY=1)', () => {
  it('does not let entries the client puts before the proxy’s own lift the lockout', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      const res = await login(proxied, 'wrong-password', {
        'x-forwarded-for': `198.18.0.${i}, 10.3.0.1`,
      })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
  })

  it('keeps one visitor id whatever the client puts before the proxy’s entry', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await proxied.post(event(`spoof-${i}`), {
        headers: { 'x-forwarded-for': `198.18.1.${i}, 10.3.0.2` },
      })
      expect(res.status).toBe(200)
    }
    const rows = stored(proxied, 'spoof-')
    expect(rows).toHaveLength(3)
    expect(new Set(rows.map((r) => r.visitor_id)).size).toBe(1)
  })

  it('takes the CloudFront viewer country', async () => {
    await proxied.post(event('country-proxied'), {
      headers: { 'x-forwarded-for': '10.3.0.3', 'cloudfront-viewer-country': 'de' },
    })
    expect(stored(proxied, 'country-proxied')).toMatchObject([{ country: 'DE' }])
  })
})

describe('HTTPS: the Secure cookie and Strict-Transport-Security', () => {
  it('marks the cookie Secure and sends HSTS when the trusted proxy says the client used HTTPS', async () => {
    const res = await login(proxied, PASSWORD, {
      'x-forwarded-for': '10.4.0.1',
      'x-forwarded-proto': 'https',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/)
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000')
    const health = await fetch(`${proxied.url}/health`, {
      headers: { 'x-forwarded-proto': 'https' },
    })
    expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000')
    const missing = await fetch(`${proxied.url}/nowhere`, {
      headers: { 'x-forwarded-proto': 'https' },
    })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('strict-transport-security')).toBe('max-age=31536000')
  })

  it('sends neither over plain HTTP behind the proxy', async () => {
    for (const proto of [undefined, 'http']) {
      const res = await login(proxied, PASSWORD, {
        'x-forwarded-for': '10.4.0.2',
        ...(proto ? { 'x-forwarded-proto': proto } : {}),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('set-cookie')).not.toMatch(/Secure/)
      expect(res.headers.get('strict-transport-security')).toBeNull()
    }
  })

  it('ignores X-Forwarded-Proto without a trusted proxy', async () => {
    const res = await login(direct, PASSWORD, { 'x-forwarded-proto': 'https' })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).not.toMatch(/Secure/)
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })
})

describe('without a trusted proxy (the default)', () => {
  it('ignores the CloudFront viewer country header', async () => {
    await direct.post(event('country-direct'), { headers: { 'cloudfront-viewer-country': 'de' } })
    expect(stored(direct, 'country-direct')).toMatchObject([{ country: '' }])
  })

  it('ignores X-Forwarded-For: a new header per guess does not lift the lockout', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const res = await login(direct, 'wrong-password', { 'x-forwarded-for': `198.18.2.${i}` })
      statuses.push(res.status)
    }
    expect(statuses.at(-1)).toBe(429)
  })
})

describe('only through the CDN (ORIGIN_SECRETS)', () => {
  const CURRENT = 'embedded-current-secret-0123456789abcdef'
  const PREVIOUS = 'embedded-previous-secret-0123456789abcde'
  let cdnOnly: TestServer
  beforeAll(async () => {
    cdnOnly = await startTestServer({
      ADMIN_PASSWORD: PASSWORD,
      TRUST_PROXY: '1',
      ORIGIN_SECRETS: `${CURRENT},${PREVIOUS}`,
    })
  })
  afterAll(async () => {
    await cdnOnly.stop()
  })

  it('refuses what did not come through the CDN, believing none of its proxy headers', async () => {
    const headers = {
      'x-forwarded-for': '198.18.3.1',
      'x-forwarded-proto': 'https',
      'cloudfront-viewer-country': 'de',
    }
    const res = await cdnOnly.post(event('skipped-cdn'), { headers })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ status: 'error' })
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('strict-transport-security')).toBeNull()
    expect((await login(cdnOnly, PASSWORD, headers)).status).toBe(403)
    expect(stored(cdnOnly, 'skipped-cdn')).toEqual([])
  })

  it('serves what carries the current or the previous secret', async () => {
    for (const [i, secret] of [CURRENT, PREVIOUS].entries()) {
      const res = await cdnOnly.post(event(`through-cdn-${i}`), {
        headers: {
          'x-forwarded-for': '10.5.0.1',
          'cloudfront-viewer-country': 'de',
          [ORIGIN_SECRET_HEADER]: secret,
        },
      })
      expect(res.status).toBe(200)
    }
    expect(stored(cdnOnly, 'through-cdn-')).toMatchObject([{ country: 'DE' }, { country: 'DE' }])
    const signIn = await login(cdnOnly, PASSWORD, { [ORIGIN_SECRET_HEADER]: CURRENT })
    expect(signIn.status).toBe(200)
  })

  it('checks nothing when unset: the embedded shape on its own serves every request', async () => {
    const res = await direct.post(event('no-cdn-configured'))
    expect(res.status).toBe(200)
    expect(stored(direct, 'no-cdn-configured')).toHaveLength(1)
    expect((await fetch(`${direct.url}/health`)).status).toBe(200)
  })
})
