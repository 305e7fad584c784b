import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { desktopContext, launchChromium } from './support/browser.ts'
import { CHROME_UA, startTestServer, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'browser-dashboard-password'
const IMG = '<img src=x onerror=alert(1)>'
const SCRIPT = '<script>alert(2)</script>'
const ARTIFACTS = 'test-artifacts'

let t: TestServer
let browser: Browser
let page: Page
/** Anything that must never happen in the page: a dialog, a CSP violation, a script error. */
const problems: string[] = []
let visitors = 0

/** Each call is a new visitor (a user id is the visitor), so the live count goes up by one. */
async function visit(path: string, title = 'A page', referrer = '') {
  const res = await t.post({
    events: [
      {
        session_id: `tab-${++visitors}`,
        user_id: `visitor-${visitors}`,
        event_type: 'page_view',
        page_url: `https://shop.example${path}`,
        title,
        referrer,
      },
    ],
  })
  expect(res.status).toBe(200)
}

const count = () => page.locator('[data-live="count"]').textContent()

describe('dashboard in Chromium', () => {
  beforeAll(async () => {
    t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, STATS_CACHE_SECONDS: '0' })
    browser = await launchChromium()
    const context = await desktopContext(browser, { viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`)
      void dialog.dismiss()
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text()))
        problems.push(`console: ${message.text()}`)
    })
    // Hostile strings arrive before the page loads (server render) and while it is open.
    await visit(`/${IMG}`, `${IMG} ${SCRIPT}`, `https://evil.example/${SCRIPT}`)
  })
  afterAll(async () => {
    await browser?.close()
    await t?.stop()
  })

  it('signs in through the form', async () => {
    await page.goto(`${t.url}/`)
    await page.getByLabel('Dashboard password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('#live')
    expect(page.url()).toBe(`${t.url}/`)
    await expect.poll(() => page.locator('[data-live="status"]').textContent()).toBe('live')
  })

  it('updates the live visitor count by a push after an event, without a reload', async () => {
    const before = Number(await count())
    // Page code as strings keeps Node's type check out of the DOM (evaluate is CSP-exempt).
    await page.evaluate('window.marker = 42')
    await visit('/pricing')
    // A locator wait, not waitForFunction: the page's CSP forbids evaluating strings.
    await page.locator('[data-live="count"]', { hasText: new RegExp(`^${before + 1}$`) }).waitFor()
    // Still on the stream: the count came with a push, not from the 3-second poll fallback.
    expect(await page.locator('[data-live="status"]').textContent()).toBe('live')
    // Same document: the marker set before the event survived.
    expect(await page.evaluate('window.marker')).toBe(42)
    await expect.poll(() => page.locator('[data-live="pages"]').textContent()).toContain('/pricing')
  })

  it('shows hostile strings as text in the server and the client render', async () => {
    await visit(`/late-${IMG}`, `late ${SCRIPT}`)
    const feed = page.locator('[data-live="feed"]')
    await expect.poll(() => feed.textContent()).toContain(`/late-${IMG}`)
    expect(await feed.textContent()).toContain(`late ${SCRIPT}`)
    // Reload: the server-rendered page and stats tables must hold the same text.
    await page.reload()
    await page.waitForSelector('#stats-panel')
    expect(await page.locator('#stats-panel').textContent()).toContain(`/${IMG}`)
    expect(await page.locator('main img').count()).toBe(0)
    expect(await page.locator('main script').count()).toBe(0)
    expect(problems).toEqual([])
  })

  it('switches the period and applies a page filter without reloading the live panel', async () => {
    const live = await page.locator('#live').elementHandle()
    await page.getByLabel('Period', { exact: true }).selectOption('today')
    await page.waitForURL(/period=today/)
    const visitorsBefore = await page.locator('[data-metric="visitors"]').textContent()
    // The unfiltered view's properties panel fills itself from the record after the page.
    await expect
      .poll(() => page.locator('[data-panel="properties"]').textContent())
      .toContain('No custom properties in this period')
    await page.locator('#stats-panel a', { hasText: '/pricing' }).first().click()
    await page.waitForURL(/filter=page%3A%2Fpricing/)
    await expect.poll(() => page.locator('[data-filter]').textContent()).toContain('/pricing')
    expect(await page.locator('[data-metric="pageviews"]').textContent()).toContain('1')
    // Every panel narrows, not only the summary: one visitor viewed /pricing, and the pages
    // table lists only what that visitor's session viewed (not the hostile page of another).
    expect(await page.locator('[data-metric="visitors"]').textContent()).not.toBe(visitorsBefore)
    expect(await page.locator('#stats-panel').textContent()).not.toContain('onerror')
    expect(await page.locator('canvas[data-chart="timeseries"]').count()).toBe(1)
    // The live panel is the same element: htmx swapped only the stats panel.
    expect(await live?.evaluate((el) => el.isConnected)).toBe(true)
    // The view lives in the URL: a reload keeps it, the back button leaves it.
    await page.reload()
    await expect.poll(() => page.locator('[data-filter]').count()).toBe(1)
    await page.goBack()
    await page.waitForURL((url) => !url.search.includes('filter='))
    await expect.poll(() => page.locator('[data-filter]').count()).toBe(0)
    await page.locator('#stats-panel a', { hasText: '/pricing' }).first().click()
    await page.waitForURL(/filter=page%3A%2Fpricing/)
    await expect.poll(() => page.locator('[data-filter]').count()).toBe(1)
    // One click on the chip's × removes the filter.
    await page.getByRole('link', { name: 'Remove filter: Page is /pricing' }).click()
    await expect.poll(() => page.locator('[data-filter]').count()).toBe(0)
    expect(page.url()).not.toContain('filter=')
  })

  it('opens a visit timeline from the live feed', async () => {
    await page.goto(`${t.url}/`)
    await page.locator('[data-live="feed"] a').first().click()
    await page.waitForURL(/\/timeline\?/)
    expect(await page.locator('h1').textContent()).toContain('Visit on')
    await page.goBack()
    await page.waitForSelector('#live')
  })

  it('fits a desktop and a 375 px phone screen (screenshots in test-artifacts/)', async () => {
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(`${t.url}/?period=7d`)
    await page.waitForTimeout(300)
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-1280.png`, fullPage: true })
    await page.setViewportSize({ width: 375, height: 812 })
    await page.goto(`${t.url}/?period=7d`)
    await page.waitForTimeout(300)
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-375.png`, fullPage: true })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.reload()
    await page.waitForTimeout(300)
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-375-dark.png` })
    await page.emulateMedia({ colorScheme: 'light' })
    const overflow = await page.evaluate('document.documentElement.scrollWidth')
    expect(overflow).toBeLessThanOrEqual(375)
    expect(problems).toEqual([])
  })

  it('serves the demo site without CSP violations, with working buttons', async () => {
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(`${t.url}/demo`)
    await page.getByRole('link', { name: 'Pricing', exact: true }).click()
    await page.waitForURL(/\/demo\/pricing$/)
    await page.getByRole('button', { name: /Go to step 2/ }).click()
    await page.waitForURL(/\/demo\/spa\/step-2$/)
    expect(await page.locator('#demo-heading').textContent()).toBe('Step 2')
    await page.getByRole('button', { name: /Sign up/ }).click()
    expect(await page.locator('#demo-status').textContent()).not.toBe('')
    await page.screenshot({ path: `${ARTIFACTS}/demo-1280.png`, fullPage: true })
    expect(problems).toEqual([])
  })
})

// Keeps the user agent import honest: the dashboard's visitors must not look like bots.
expect(CHROME_UA).not.toMatch(/Headless/)
