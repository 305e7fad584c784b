import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'token-password-1'
let t: TestServer

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD })
})
afterAll(() => t.stop())

const sites = (server: TestServer, token: string) =>
  fetch(`${server.url}/api/sites`, { headers: { authorization: `Bearer ${token}` } })

function setting(server: TestServer, name: string): string | undefined {
  return server.db().prepare('SELECT value FROM settings WHERE name = ?').pluck().get(name) as
    | string
    | undefined
}

describe('sign-out revokes tokens', () => {
  it('POST /api/auth/logout with a token makes that token useless, and only that one', async () => {
    const token = await t.signIn()
    const other = await t.signIn()
    expect((await sites(t, token)).status).toBe(200)
    const out = await fetch(`${t.url}/api/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(out.status).toBe(200)
    expect((await sites(t, token)).status).toBe(401)
    // The admin's other browsers and scripts stay signed in.
    expect((await sites(t, other)).status).toBe(200)
  })

  it("the dashboard's sign-out makes its cookie useless", async () => {
    const signIn = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: 'manual',
    })
    expect(signIn.status).toBe(303)
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string
    const withCookie = { headers: { cookie } }
    expect((await fetch(`${t.url}/api/sites`, withCookie)).status).toBe(200)
    const out = await fetch(`${t.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      ...withCookie,
    })
    expect(out.status).toBe(303)
    expect((await fetch(`${t.url}/api/sites`, withCookie)).status).toBe(401)
  })

  it('a sign-out without a valid token revokes nothing', async () => {
    const token = await t.signIn()
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer not.a.token' }]
    for (const headers of attempts) {
      const out = await fetch(`${t.url}/api/auth/logout`, { method: 'POST', headers })
      expect(out.status).toBe(200)
    }
    expect((await sites(t, token)).status).toBe(200)
  })
})

describe('tokens must end', () => {
  it('refuses a well-signed token without exp', async () => {
    const key = new TextEncoder().encode(setting(t, 'token_signing_key'))
    const gen = setting(t, 'token_generation')
    const now = Math.floor(Date.now() / 1000)
    const forge = (exp?: number) => {
      const jwt = new SignJWT({ role: 'admin', ...(gen ? { gen } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('admin')
        .setJti('forged-token-1')
        .setIssuedAt(now)
      return (exp ? jwt.setExpirationTime(exp) : jwt).sign(key)
    }
    // The same token with exp passes: only the missing claim makes the difference.
    expect((await sites(t, await forge(now + 3600))).status).toBe(200)
    expect((await sites(t, await forge())).status).toBe(401)
  })
})

describe('a changed ADMIN_PASSWORD', () => {
  it('revokes the tokens issued before the restart; the same password keeps them', async () => {
    const dir = tempDir()
    try {
      let server = await startTestServer(
        { ADMIN_PASSWORD: 'first-password-1' },
        { dataDir: dir.path },
      )
      const token = await server.signIn()
      await server.stop()

      server = await startTestServer({ ADMIN_PASSWORD: 'first-password-1' }, { dataDir: dir.path })
      expect((await sites(server, token)).status).toBe(200)
      await server.stop()

      server = await startTestServer({ ADMIN_PASSWORD: 'second-password-2' }, { dataDir: dir.path })
      expect((await sites(server, token)).status).toBe(401)
      expect((await sites(server, await server.signIn())).status).toBe(200)
      await server.stop()
    } finally {
      dir.remove()
    }
  })
})
