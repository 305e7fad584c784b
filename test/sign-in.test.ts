import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'sign-in-password-1'
let clock = Date.UTC(2026, 4, 1, 12, 0)
let t: TestServer

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, TRUST_PROXY: 'true' }, { now: () => clock })
})
afterAll(() => t.stop())

/** A JSON sign-in from `ip`, as a trusted proxy would forward it. */
function login(password: string, ip: string) {
  return fetch(`${t.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ password }),
  })
}

/**
 * Streams a body of `total` bytes in 1 KiB chunks, without a Content-Length, and stops
 * sending as soon as the answer comes: says how much had been sent by then.
 */
function streamBody(path: string, total: number, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; sent: number; body: string }>((resolve, reject) => {
    const { hostname, port } = new URL(t.url)
    let sent = 0
    let answered = false
    const req = request({ hostname, port, path, method: 'POST', headers }, (res) => {
      answered = true
      const at = sent
      let body = ''
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, sent: at, body })
      })
    })
    req.on('error', (error) => {
      if (!answered) reject(error)
    })
    const chunk = Buffer.alloc(1024, 'a')
    const writeMore = () => {
      if (answered) return
      if (sent >= total) {
        req.end()
        return
      }
      sent += chunk.length
      req.write(chunk)
      setTimeout(writeMore, 1)
    }
    writeMore()
  })
}

describe('sign-in bodies are capped', () => {
  it('answers a streamed sign-in body over 4 KiB with 413 while the client is still sending', async () => {
    const total = 1024 * 1024
    const res = await streamBody('/api/auth/login', total, {
      'content-type': 'application/json',
      'x-forwarded-for': '10.1.0.1',
    })
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toMatchObject({ status: 'error' })
    expect(res.sent).toBeLessThan(total / 4)
  })

  it('answers the dashboard form over 4 KiB with 413 while the client is still sending', async () => {
    const total = 1024 * 1024
    const res = await streamBody('/login', total, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': '10.1.0.2',
    })
    expect(res.status).toBe(413)
    expect(res.sent).toBeLessThan(total / 4)
  })

  it('checks the lockout before reading the body: a locked-out address gets 429, unread', async () => {
    const ip = '10.1.0.9'
    for (let i = 0; i < 5; i++) {
      expect((await login('wrong-password', ip)).status).toBe(401)
    }
    const total = 1024 * 1024
    const res = await streamBody('/api/auth/login', total, {
      'content-type': 'application/json',
      'x-forwarded-for': ip,
    })
    expect(res.status).toBe(429)
    expect(res.sent).toBeLessThan(total / 4)
  })

  it('refuses a declared Content-Length over the cap on every body-reading route', async () => {
    const pad = 'x'.repeat(5000)
    const login = await fetch(`${t.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.1.0.3' },
      body: JSON.stringify({ password: 'wrong-password', pad }),
    })
    expect(login.status).toBe(413)
    const form = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': '10.1.0.3',
      },
      body: `password=wrong-password&pad=${pad}`,
    })
    expect(form.status).toBe(413)
    const token = await t.signIn()
    const site = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Big', domain: 'big.example', pad }),
    })
    expect(site.status).toBe(413)
    expect(await site.json()).toMatchObject({ status: 'error' })
  })
})

describe('concurrent guesses', () => {
  it('lets at most five of 20 simultaneous wrong guesses from one address be checked', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => login('wrong-password', '10.2.0.1')),
    )
    const statuses = answers.map((res) => res.status)
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15)
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true)
    for (const res of answers.filter((r) => r.status === 429)) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    }
  })
})

describe('the lockout', () => {
  it('counts the addresses of one IPv6 /64 as one client, however they are written', async () => {
    // Five guesses from five addresses of one /64, in the forms proxies write them.
    const forms = [
      '2001:db8:7:1::a',
      '[2001:db8:7:1::b]',
      '[2001:db8:7:1::c]:443',
      '2001:DB8:7:1::d',
    ]
    for (const ip of [...forms, '2001:db8:7:1:ffff::e']) {
      expect((await login('wrong-password', ip)).status).toBe(401)
    }
    // The /64 now waits, whichever address of it tries next; another /64 does not.
    expect((await login('wrong-password', '2001:db8:7:1::99')).status).toBe(429)
    expect((await login('wrong-password', '2001:db8:7:2::1')).status).toBe(401)
  })

  it('counts an IPv4 address with a port as that address', async () => {
    for (let port = 1; port <= 5; port++) {
      expect((await login('wrong-password', `10.7.0.1:${40000 + port}`)).status).toBe(401)
    }
    expect((await login('wrong-password', '10.7.0.1')).status).toBe(429)
  })

  it('makes an address wait longer with each failure past the fifth, and the right password never skips the wait', async () => {
    const ip = '10.5.0.1'
    for (let i = 0; i < 5; i++) expect((await login('wrong-password', ip)).status).toBe(401)
    // The right password during the wait gets the same 429: the answer tells nothing.
    const waiting = await login(PASSWORD, ip)
    expect(waiting.status).toBe(429)
    expect(waiting.headers.get('retry-after')).toBe('60')
    clock += 60_000
    expect((await login('wrong-password', ip)).status).toBe(401)
    const longer = await login(PASSWORD, ip)
    expect(longer.status).toBe(429)
    expect(longer.headers.get('retry-after')).toBe('120')
    clock += 120_000
    expect((await login(PASSWORD, ip)).status).toBe(200)
    // A success forgets the failures.
    for (let i = 0; i < 5; i++) expect((await login('wrong-password', ip)).status).toBe(401)
    expect((await login('wrong-password', ip)).status).toBe(429)
  })
})
