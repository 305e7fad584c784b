import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

const PASSWORD = 'csrf-password-123'
const EVIL = 'https://evil.example'

let t: TestServer
let token = ''
let cookie = ''

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD })
  token = await t.signIn()
  const res = await fetch(`${t.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  })
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string
  expect(cookie).toMatch(/^li_session=./)
})
afterAll(async () => {
  await t.stop()
})

/** What a browser adds to a request another site's page makes it send. */
const crossSite = { origin: EVIL, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }
/** And to one the dashboard's own page sends. */
const sameOrigin = () => ({ origin: t.url, 'sec-fetch-site': 'same-origin' })

async function sites(): Promise<Array<{ id: string; name: string; api_key: string }>> {
  const res = await fetch(`${t.url}/api/sites`, { headers: { authorization: `Bearer ${token}` } })
  return ((await res.json()) as { data: { sites: [] } }).data.sites
}

const siteBody = (name: string) => JSON.stringify({ name, domain: 'shop.example' })

async function expectRefused(res: Response, status: number) {
  expect(res.status).toBe(status)
  expect(await res.json()).toMatchObject({ status: 'error', message: expect.any(String) })
}

describe('a cross-site request riding on the session cookie', () => {
  it('cannot create a site with a text/plain body', async () => {
    const before = await sites()
    const res = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain;charset=UTF-8', ...crossSite },
      body: siteBody('Forged'),
    })
    await expectRefused(res, 403)
    expect(await sites()).toEqual(before)
  })

  it('cannot rotate an ingest key with an empty form post', async () => {
    const keyBefore = (await sites()).find((s) => s.id === 'default')?.api_key
    const res = await fetch(`${t.url}/api/sites/default/rotate-key`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...crossSite },
      body: '',
    })
    await expectRefused(res, 403)
    expect((await sites()).find((s) => s.id === 'default')?.api_key).toBe(keyBefore)
    expect(keyBefore).toBe(TEST_API_KEY)
  })

  it('is refused on Origin alone (a browser without Sec-Fetch-Site), and from a sibling site', async () => {
    const onlyOrigin = await fetch(`${t.url}/api/sites/default/rotate-key`, {
      method: 'POST',
      headers: { cookie, origin: EVIL },
    })
    await expectRefused(onlyOrigin, 403)
    const opaque = await fetch(`${t.url}/api/sites/default/rotate-key`, {
      method: 'POST',
      headers: { cookie, origin: 'null' },
    })
    await expectRefused(opaque, 403)
    const sibling = await fetch(`${t.url}/api/sites/default/rotate-key`, {
      method: 'POST',
      headers: { cookie, origin: 'http://other.localhost', 'sec-fetch-site': 'same-site' },
    })
    await expectRefused(sibling, 403)
    expect((await sites()).find((s) => s.id === 'default')?.api_key).toBe(TEST_API_KEY)
  })

  it('cannot sign out, nor sign in through the dashboard form or the JSON route', async () => {
    const form = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...crossSite },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: 'manual',
    })
    await expectRefused(form, 403)
    expect(form.headers.get('set-cookie')).toBeNull()
    const json = await fetch(`${t.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...crossSite },
      body: JSON.stringify({ password: PASSWORD }),
    })
    await expectRefused(json, 403)
    for (const path of ['/logout', '/api/auth/logout']) {
      const out = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { cookie, ...crossSite },
        redirect: 'manual',
      })
      await expectRefused(out, 403)
      expect(out.headers.get('set-cookie')).toBeNull()
    }
  })
})

describe('the dashboard itself', () => {
  it('creates a site and rotates a key with the cookie, same-origin', async () => {
    const created = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', ...sameOrigin() },
      body: siteBody('Mine'),
    })
    expect(created.status).toBe(201)
    const site = ((await created.json()) as { data: { site: { id: string; api_key: string } } })
      .data.site
    // Origin alone, as a browser without Sec-Fetch-Site sends it.
    const rotated = await fetch(`${t.url}/api/sites/${site.id}/rotate-key`, {
      method: 'POST',
      headers: { cookie, origin: t.url },
    })
    expect(rotated.status).toBe(200)
    const typed = await fetch(`${t.url}/api/sites/${site.id}/rotate-key`, {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'none' },
    })
    expect(typed.status).toBe(200)
  })

  it('signs in and out through its forms', async () => {
    const login = await fetch(`${t.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin() },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: 'manual',
    })
    expect(login.status).toBe(303)
    expect(login.headers.get('set-cookie')).toMatch(/^li_session=./)
    const logout = await fetch(`${t.url}/logout`, {
      method: 'POST',
      headers: { cookie, ...sameOrigin() },
      redirect: 'manual',
    })
    expect(logout.status).toBe(303)
  })

  it('may not send a text/plain body, even same-origin', async () => {
    const before = await sites()
    const res = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain', ...sameOrigin() },
      body: siteBody('Plain'),
    })
    await expectRefused(res, 415)
    expect(await sites()).toEqual(before)
  })
})

describe('what no browser can forge', () => {
  it('a Bearer-token call works from anywhere', async () => {
    const created = await fetch(`${t.url}/api/sites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: siteBody('Scripted'),
    })
    expect(created.status).toBe(201)
    const id = ((await created.json()) as { data: { site: { id: string } } }).data.site.id
    const rotated = await fetch(`${t.url}/api/sites/${id}/rotate-key`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, origin: EVIL },
    })
    expect(rotated.status).toBe(200)
  })

  it('a client that is no browser signs in without Origin', async () => {
    const res = await fetch(`${t.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(res.status).toBe(200)
  })
})

describe('the collector', () => {
  it('takes a cross-site text/plain beacon, as any site embedding the tracker sends it', async () => {
    const key = (await sites()).find((s) => s.id === 'default')?.api_key
    const res = await fetch(`${t.url}/api/events?api_key=${key}`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain;charset=UTF-8',
        'user-agent': CHROME_UA,
        ...crossSite,
      },
      body: JSON.stringify({
        events: [{ event_type: 'page_view', page_url: 'https://shop.example/', session_id: 'b' }],
      }),
    })
    expect(res.status).toBe(200)
  })
})
