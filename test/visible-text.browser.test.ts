import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { desktopContext, launchChromium } from './support/browser.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

/**
 * A path with U+202E RIGHT-TO-LEFT OVERRIDE would show as "/invoice‮fdp.exe" reversed, i.e.
 * "/invoiceexe.pdf", a page it is not. The page must show the override as `\u202E`.
 */
const RLO = '\u202E'
const PASSWORD = 'visible-text-password'

let t: TestServer
let browser: Browser
let page: Page
let sent = 0

async function visit(path: string, title: string) {
  const res = await t.post({
    events: [
      {
        session_id: `tab-${++sent}`,
        event_type: 'page_view',
        page_url: `https://shop.example${path}`,
        title,
      },
    ],
  })
  expect(res.status).toBe(200)
}

/** What a reader sees of an element: its rendered text. */
const shown = (selector: string) => page.locator(selector).innerText()

describe('invisible characters in Chromium', () => {
  beforeAll(async () => {
    t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, STATS_CACHE_SECONDS: '0' })
    browser = await launchChromium()
    page = await (await desktopContext(browser)).newPage()
    // Before the page loads: the server renders it.
    await visit(`/invoice${RLO}fdp.exe`, `Invoice ${RLO}fdp.exe`)
  })
  afterAll(async () => {
    await browser?.close()
    await t?.stop()
  })

  it('shows a sent U+202E as \\u202E in the server-rendered stats tables and live panel', async () => {
    await page.goto(`${t.url}/`)
    await page.getByLabel('Dashboard password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('#stats-panel')
    const stats = await shown('#stats-panel')
    expect(stats).toContain('/invoice\\u202Efdp.exe')
    expect(stats).not.toContain(RLO)
    const live = await shown('#live')
    expect(live).toContain('/invoice\\u202Efdp.exe')
    expect(live).toContain('Invoice \\u202Efdp.exe')
    expect(live).not.toContain(RLO)
  })

  it('shows it escaped when the live panel renders a push in the browser', async () => {
    await expect.poll(() => shown('[data-live="status"]')).toBe('live')
    await visit(`/late${RLO}gpj.js`, `late ${RLO}gpj.js`)
    const feed = '[data-live="feed"]'
    await expect.poll(() => shown(feed)).toContain('/late\\u202Egpj.js')
    expect(await shown(feed)).toContain('late \\u202Egpj.js')
    expect(await shown('[data-live="pages"]')).toContain('/late\\u202Egpj.js')
    expect(await shown('#live')).not.toContain(RLO)
  })
})
