import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
// that signed in before keeps its own allowance of failures, so a flood of guesses from
// rotating addresses slows the guessers without locking the owner out.

const PASSWORD = 'device-password-1'
let clock = Date.UTC(2026, 4, 1, 12, 0)
let t: TestServer
let guesser = 0

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, TRUST_PROXY: 'true' }, { now: () => clock })
})
afterAll(() => t.stop())

interface From {
  ip: string
  device?: string
  headers?: Record<string, string>
}

/** A JSON sign-in, as a trusted proxy forwards it, with the browser's device cookie if any. */
function login(server: TestServer, password: string, from: From) {
  return fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': from.ip,
      ...(from.device ? { cookie: `li_device=${from.device}` } : {}),
      ...from.headers,
    },
    body: JSON.stringify({ password }),
  })
}

/** The dashboard form's sign-in. */
function formLogin(password: string, from: From) {
  return fetch(`${t.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': from.ip,
      ...(from.device ? { cookie: `li_device=${from.device}` } : {}),
    },
    body: new URLSearchParams({ password }).toString(),
  })
}

function setCookie(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`))
}

function deviceCookie(res: Response): string {
  const cookie = setCookie(res, 'li_device')
  if (!cookie) throw new Error(`no device cookie in a ${res.status} answer`)
  return cookie.slice('li_device='.length).split(';')[0] ?? ''
}

/** A wrong guess from an address never used before, a quarter of a second after the last. */
async function guess(): Promise<number> {
  guesser += 1
  clock += 250
  const ip = `198.18.${(guesser >> 8) & 255}.${guesser & 255}`
  return (await login(t, 'wrong-password', { ip })).status
}

/** An answer with what differs between any two answers (its date and request id) left out. */
async function answer(res: Response) {
  const headers = [...res.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id')
  return { status: res.status, headers, body: await res.text() }
}

describe('a guessing flood from rotating addresses', () => {
  const owner = '203.0.113.7'
  let device = ''

  beforeAll(async () => {
    const first = await login(t, PASSWORD, { ip: owner })
    expect(first.status).toBe(200)
    device = deviceCookie(first)
    // 100 failures from 100 addresses, four a second (ten at a time, to be quick about it):
    // the untrusted slow-down is on.
    for (let batch = 0; batch < 10; batch++) {
      const statuses = await Promise.all(Array.from({ length: 10 }, guess))
      expect(statuses).toEqual(Array(10).fill(401))
    }
  })

  it("lets the owner's browser sign in every second for 20 s while guessers keep going at four a second", async () => {
    const guesses: number[] = []
    const owners: number[] = []
    for (let second = 0; second < 20; second++) {
      for (let i = 0; i < 4; i++) guesses.push(await guess())
      const res = await login(t, PASSWORD, { ip: owner, device })
      owners.push(res.status)
      // As a browser does: the answer's new device cookie replaces the old one.
      if (res.status === 200) device = deviceCookie(res)
    }
    expect(owners).toEqual(Array(20).fill(200))
    // The guessers stay slowed: one attempt from anywhere per 10 s.
    expect(guesses.filter((s) => s === 401).length).toBeLessThanOrEqual(2)
    expect(guesses.filter((s) => s !== 401).every((s) => s === 429)).toBe(true)
    // Without its device cookie the owner's browser is one more untrusted client.
    await guess()
    expect((await login(t, PASSWORD, { ip: owner })).status).toBe(429)
  })

  it('gives a forged, tampered or foreign device cookie the untrusted budget', async () => {
    const [header, payload, signature] = device.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const otherNonce = Buffer.from(JSON.stringify({ ...claims, jti: 'someone-else' })).toString(
      'base64url',
    )
    const session = (await (await login(t, PASSWORD, { ip: owner, device })).json()) as {
      data: { token: string }
    }
    const forgeries = [
      `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
      `${header}.${otherNonce}.${signature}`,
      session.data.token,
      'not-a-device-cookie',
    ]
    for (const forged of forgeries) {
      // A guess first takes the one untrusted attempt of these 10 s, if it is free.
      await guess()
      const res = await login(t, PASSWORD, { ip: '192.0.2.50', device: forged })
      expect(res.status).toBe(429)
      expect(setCookie(res, 'li_device')).toBeUndefined()
    }
    await guess()
    expect((await login(t, PASSWORD, { ip: '192.0.2.50', device })).status).toBe(200)
  })

  it("locks a device cookie after five failures of its own, from whichever address, and not the owner's other browsers", async () => {
    const laptop = deviceCookie(await login(t, PASSWORD, { ip: owner, device }))
    const phone = deviceCookie(await login(t, PASSWORD, { ip: owner, device: laptop }))
    for (let i = 0; i < 5; i++) {
      const ip = `192.0.2.${100 + i}`
      expect((await login(t, 'wrong-password', { ip, device: phone })).status).toBe(401)
    }
    const locked = await login(t, PASSWORD, { ip: '192.0.2.110', device: phone })
    expect(locked.status).toBe(429)
    expect(locked.headers.get('retry-after')).toBe('60')
    expect((await login(t, PASSWORD, { ip: '192.0.2.110', device: laptop })).status).toBe(200)
  })

  it('answers a locked-out right guess exactly as a locked-out wrong one, on both sign-in routes', async () => {
    const mine = deviceCookie(await login(t, PASSWORD, { ip: owner, device }))
    for (let i = 0; i < 5; i++) {
      expect((await login(t, 'wrong-password', { ip: owner, device: mine })).status).toBe(401)
    }
    for (const send of [
      (password: string) => login(t, password, { ip: owner, device: mine }),
      (password: string) => formLogin(password, { ip: owner, device: mine }),
      (password: string) => login(t, password, { ip: '192.0.2.77' }),
    ]) {
      await guess()
      const right = await answer(await send(PASSWORD))
      const wrong = await answer(await send('wrong-password'))
      expect(right.status).toBe(429)
      expect(right).toEqual(wrong)
    }
  })

  it("signs the owner's browser in through the dashboard form too, with a new device cookie", async () => {
    const mine = deviceCookie(await login(t, PASSWORD, { ip: owner, device }))
    await guess()
    const without = await formLogin(PASSWORD, { ip: '192.0.2.88' })
    expect(without.status).toBe(429)
    const res = await formLogin(PASSWORD, { ip: '192.0.2.88', device: mine })
    expect(res.status).toBe(303)
    expect(setCookie(res, 'li_session')).toBeDefined()
    const renewed = deviceCookie(res)
    expect(renewed).not.toBe(mine)
    await guess()
    expect((await formLogin(PASSWORD, { ip: '192.0.2.88', device: renewed })).status).toBe(303)
  })
})

describe('the device cookie', () => {
  it('is HttpOnly, SameSite=Strict, long-lived, and Secure when the client came over HTTPS', async () => {
    // Past the flood's slow-down: these browsers sign in for the first time.
    clock += 20 * 60_000
    const plain = setCookie(await login(t, PASSWORD, { ip: '192.0.2.200' }), 'li_device') ?? ''
    expect(plain).toMatch(/; HttpOnly/i)
    expect(plain).toMatch(/; SameSite=Strict/i)
    expect(plain).toMatch(/; Path=\//i)
    expect(Number(/Max-Age=(\d+)/i.exec(plain)?.[1])).toBeGreaterThanOrEqual(180 * 24 * 3600)
    expect(plain).not.toMatch(/; Secure/i)
    const https = await login(t, PASSWORD, {
      ip: '192.0.2.201',
      headers: { 'x-forwarded-proto': 'https' },
    })
    expect(setCookie(https, 'li_device')).toMatch(/; Secure/i)
  })

  it('is no longer trusted once the password changed', async () => {
    const dir = tempDir()
    const at = { now: () => clock, dataDir: dir.path }
    const env = { TRUST_PROXY: 'true' }
    const ip = '192.0.2.240'
    try {
      let server = await startTestServer({ ...env, ADMIN_PASSWORD: 'first-password-1' }, at)
      const old = deviceCookie(await login(server, 'first-password-1', { ip }))
      await server.stop()

      server = await startTestServer({ ...env, ADMIN_PASSWORD: 'second-password-2' }, at)
      for (let i = 0; i < 5; i++) {
        expect((await login(server, 'wrong-password', { ip })).status).toBe(401)
      }
      // The address waits; the old device cookie is no reason to let it through.
      expect((await login(server, 'second-password-2', { ip, device: old })).status).toBe(429)
      // A device cookie of the new password is.
      const renewed = deviceCookie(
        await login(server, 'second-password-2', { ip: '192.0.2.241', device: old }),
      )
      expect((await login(server, 'second-password-2', { ip, device: renewed })).status).toBe(200)
      await server.stop()
    } finally {
      dir.remove()
    }
    // Two starts, each hashing a password (scrypt), on a busy machine.
  }, 60_000)
})
