import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DASHBOARD_CSP } from '../src/http/dashboard-headers.ts'
import { startTestServer, TEST_API_KEY, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'dashboard-password-1'
const IMG = '<img src=x onerror=alert(1)>'
const SCRIPT = '<script>alert(2)</script>'

let t: TestServer
let cookie = ''

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}${path}`, { headers: { cookie, ...headers } })
  return { res, body: await res.text() }
}

function login(password: string) {
  return fetch(`${t.url}/login`, {
    method: 'POST',
    body: new URLSearchParams({ password }),
    redirect: 'manual',
  })
}

beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, STATS_CACHE_SECONDS: '0' })
})
afterAll(async () => {
  await t.stop()
})

describe('dashboard sign-in', () => {
  it('shows the sign-in form when signed out', async () => {
    const { res, body } = await fetch(`${t.url}/`).then(async (r) => ({
      res: r,
      body: await r.text(),
    }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/html/)
    expect(body).toContain('<form method="post" action="/login"')
    expect(body).toMatch(/<label for="password"[^>]*>[^<]+<\/label>/)
    expect(body).toContain('id="password"')
    expect(body).not.toContain('id="live"')
  })

  it('re-renders with an error on a wrong password and sets no cookie', async () => {
    const res = await login('wrong-password')
    expect(res.status).toBe(401)
    expect(res.headers.get('set-cookie')).toBeNull()
    expect(await res.text()).toContain('Wrong password.')
    const empty = await login('')
    expect(empty.status).toBe(400)
  })

  it('sets the session cookie and redirects on the right password', async () => {
    const res = await login(PASSWORD)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    const setCookie = res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^li_session=[^;]+;.*HttpOnly/)
    expect(setCookie).toContain('SameSite=Strict')
    cookie = setCookie.split(';')[0] ?? ''
  })
})

describe('signed-in dashboard', () => {
  it('renders the live panel, the stats panel and, without data, the onboarding snippet', async () => {
    const { res, body } = await get('/')
    expect(res.status).toBe(200)
    expect(body).toContain('id="live"')
    expect(body).toContain('data-stream-url="/api/realtime/stream?site=default"')
    expect(body).toContain('id="stats-panel"')
    expect(body).toContain('data-chart="timeseries"')
    expect(body).toContain('id="onboarding"')
    expect(body).toContain(
      `&lt;script defer src=&quot;${t.url}/liveinsight.js&quot; data-api-key=&quot;${TEST_API_KEY}&quot;&gt;&lt;/script&gt;`,
    )
    for (const option of ['today', '24h', '7d', '30d', '90d', '12mo'])
      expect(body).toContain(`<option value="${option}"`)
    expect(body).toMatch(/<label for="site"/)
    expect(body).toMatch(/<label for="period"/)
  })

  it('sends a CSP without inline scripts on every dashboard page', async () => {
    for (const path of ['/', '/demo']) {
      const { res, body } = await get(path)
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).toBe(DASHBOARD_CSP)
      const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? ''
      expect(scriptSrc).not.toContain('unsafe-inline')
      // Nothing the policy would block: no inline scripts, handlers or style attributes.
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
      expect(body).not.toMatch(/\son[a-z]+=/i)
      expect(body).not.toMatch(/\sstyle=/i)
    }
    const signedOut = await fetch(`${t.url}/`)
    expect(signedOut.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
  })

  it('shows hostile page URLs, titles and referrers as text everywhere', async () => {
    const res = await t.post({
      events: [
        {
          session_id: 'xss-tab',
          event_type: 'page_view',
          page_url: `https://shop.example/${IMG}${SCRIPT}`,
          title: `${IMG} ${SCRIPT}`,
          referrer: `https://evil.example/${SCRIPT}`,
        },
        {
          session_id: 'xss-tab',
          event_type: SCRIPT.slice(0, 20).replace(/[<>/()]/g, '_'),
          page_url: 'https://shop.example/',
          props: { note: IMG },
        },
      ],
    })
    expect(res.status).toBe(200)
    const bearer = await t.signIn()
    const fragments = [
      await get('/api/stats?site=default&period=today', { 'hx-request': 'true' }),
      await get('/api/realtime?site=default', { 'hx-request': 'true' }),
      await get('/'),
    ]
    for (const { res: r, body } of fragments) {
      expect(r.status).toBe(200)
      expect(body).not.toContain('<img src=x')
      expect(body).not.toContain('<script>alert')
      expect(body).not.toContain('<script>')
    }
    // Every view shows the path decoded, as people read it, and escaped.
    for (const { body } of fragments) {
      expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;')
      expect(body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;')
    }
    // The dashboard's live feed links to the visit; its timeline shows every field as text.
    const dashboard = fragments[2]?.body ?? ''
    expect(dashboard).not.toContain('id="onboarding"')
    const href = dashboard.match(/href="(\/timeline\?[^"]+)"/)?.[1]?.replaceAll('&amp;', '&')
    expect(href).toBeDefined()
    const timeline = await get(href ?? '')
    expect(timeline.res.status).toBe(200)
    expect(timeline.body).toContain('&lt;script&gt;alert(2)&lt;/script&gt;')
    expect(timeline.body).toContain('note=&lt;img src=x onerror=alert(1)&gt;')
    expect(timeline.body).not.toContain('<img src=x')
    expect(bearer).not.toBe('')
  })

  it('applies a filter to every panel and offers to clear it', async () => {
    // The hostile page above is the one page viewed: its path holds "img" (percent-encoded).
    const { body } = await get(`/?site=default&period=7d&filter=${encodeURIComponent('page~:img')}`)
    expect(body).toContain('data-filter="page~:img"')
    expect(body).toContain('Clear filters')
    expect(body).toContain('href="/?site=default&amp;period=7d"')
    // Table rows (narrowed too) link to the view with their filter added to the one applied.
    expect(body).toContain(
      'href="/?site=default&amp;period=7d&amp;filter=page%7E%3Aimg&amp;filter=source%3Aevil.example"',
    )
  })

  it('loads the properties of an unfiltered view from the record after the page', async () => {
    const { body } = await get('/?site=default&period=7d')
    expect(body).toContain('hx-get="/properties?site=default&amp;period=7d"')
    const panel = await get('/properties?site=default&period=7d')
    expect(panel.res.status).toBe(200)
    // The hostile visit above carried one property, `note`: its key links to its breakdown.
    expect(panel.body).toContain('data-panel="properties"')
    expect(panel.body).toContain('href="/?site=default&amp;period=7d&amp;props=note"')
    expect(panel.body).not.toContain('hx-get=')
    const broken = await get('/?site=default&period=7d&props=note')
    expect(broken.body).toContain('<caption class="mb-2 text-left font-semibold">note</caption>')
  })

  it('answers an unknown visit with 404 and a signed-out timeline with the sign-in page', async () => {
    const missing = await get('/timeline?site=default&sid=nope&at=2026-01-01T00:00:00Z')
    expect(missing.res.status).toBe(404)
    const signedOut = await fetch(`${t.url}/timeline?site=default&sid=x&at=1`, {
      redirect: 'manual',
    })
    expect(signedOut.status).toBe(303)
  })

  it('signs out by clearing the cookie', async () => {
    const res = await fetch(`${t.url}/logout`, {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('set-cookie')).toMatch(/li_session=;.*Max-Age=0/)
  })
})

describe('dashboard assets', () => {
  it.each([
    ['dashboard.css', /text\/css/],
    ['htmx.min.js', /javascript/],
    ['chart.umd.js', /javascript/],
    ['dashboard.js', /javascript/],
    ['demo.js', /javascript/],
  ])('serves /assets/%s with an ETag and an hour of caching', async (name, type) => {
    const res = await fetch(`${t.url}/assets/${name}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(type)
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600')
    const etag = res.headers.get('etag')
    expect(etag).toMatch(/"/)
    expect((await res.text()).length).toBeGreaterThan(100)
    const again = await fetch(`${t.url}/assets/${name}`, {
      headers: { 'if-none-match': etag ?? '' },
    })
    expect(again.status).toBe(304)
  })

  it('404s an unknown asset', async () => {
    expect((await fetch(`${t.url}/assets/nope.js`)).status).toBe(404)
  })
})

describe('demo site', () => {
  it.each(['/demo', '/demo/pricing', '/demo/blog', '/demo/spa/step-2'])(
    '%s renders with the tracker for the default site',
    async (path) => {
      const res = await fetch(`${t.url}${path}`)
      expect(res.status).toBe(200)
      const body = await res.text()
      expect(body).toContain(
        `<script defer src="/liveinsight.js" data-api-key="${TEST_API_KEY}"></script>`,
      )
      expect(body).toContain('<script defer src="/assets/demo.js"></script>')
      expect(body).toContain('href="/demo/pricing"')
      expect(body).toContain('href="https://example.com/"')
      expect(body).toContain('id="demo-signup"')
      expect(body).toContain('id="demo-spa"')
    },
  )
})

describe('the snippet when the collector has a door of its own', () => {
  it('carries the collector’s origin as data-api (COLLECTOR_ORIGIN), and refuses one with a path', async () => {
    const collector = 'https://abc123.execute-api.ap-northeast-2.amazonaws.com'
    const server = await startTestServer({ ADMIN_PASSWORD: PASSWORD, COLLECTOR_ORIGIN: collector })
    try {
      const signIn = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ password: PASSWORD }),
        redirect: 'manual',
      })
      const session = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      const body = await (await fetch(`${server.url}/`, { headers: { cookie: session } })).text()
      expect(body).toContain(
        `&lt;script defer src=&quot;${server.url}/liveinsight.js&quot; data-api-key=&quot;${TEST_API_KEY}&quot; data-api=&quot;${collector}&quot;&gt;&lt;/script&gt;`,
      )
    } finally {
      await server.stop()
    }
    await expect(
      startTestServer({ ADMIN_PASSWORD: PASSWORD, COLLECTOR_ORIGIN: `${collector}/api/events` }),
    ).rejects.toThrow(/COLLECTOR_ORIGIN/)
  })
})
