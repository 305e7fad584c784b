import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
      const res = await fetch(`${proxied.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'x-forwarded-for': `198.18.0.${i}, 10.3.0.1` },
        body: JSON.stringify({ password: 'wrong-password' }),
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

describe('without a trusted proxy (the default)', () => {
  it('ignores the CloudFront viewer country header', async () => {
    await direct.post(event('country-direct'), { headers: { 'cloudfront-viewer-country': 'de' } })
    expect(stored(direct, 'country-direct')).toMatchObject([{ country: '' }])
  })

  it('ignores X-Forwarded-For: a new header per guess does not lift the lockout', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${direct.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'x-forwarded-for': `198.18.2.${i}` },
        body: JSON.stringify({ password: 'wrong-password' }),
      })
      statuses.push(res.status)
    }
    expect(statuses.at(-1)).toBe(429)
  })
})
