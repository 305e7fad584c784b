import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { startDynamoDbService } from '../src/entry/aws/dynamodb-service.ts'
import type { RunningService } from '../src/entry/service.ts'
import { createLogger } from '../src/log/logger.ts'
import { type LocalTables, localTables } from '../src/testing/dynamodb.ts'
import { desktopContext, launchChromium } from './support/browser.ts'
import { CHROME_UA } from './support/embedded-server.ts'

/**
 * The dashboard of the AWS shape (DynamoDB Local, roll-up from the stream) in Chromium: the
 * live panel opens no stream and polls /api/realtime every 3 s, as it will behind API
 * Gateway, and a new visitor shows up without a reload.
 */
const PASSWORD = 'browser-dynamodb-password'
const KEY = 'browser-dynamodb-ingest-key'

describe('the AWS shape’s dashboard in Chromium', () => {
  let tables: LocalTables
  let server: RunningService
  let browser: Browser
  let page: Page
  const requested: string[] = []

  beforeAll(async () => {
    tables = await localTables()
    server = await startDynamoDbService(
      parseConfig({ PORT: '0', ADMIN_PASSWORD: PASSWORD, API_KEY: KEY, STATS_CACHE_SECONDS: '0' }),
      createLogger('silent'),
      tables.clients,
      tables.tables,
    )
    browser = await launchChromium()
    const context = await desktopContext(browser, { viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('request', (request) => requested.push(new URL(request.url()).pathname))
  })
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await tables?.drop()
  })

  const visit = async (n: number) => {
    const res = await fetch(`${server.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({
        events: [
          {
            session_id: `tab-${n}`,
            user_id: `visitor-${n}`,
            event_type: 'page_view',
            page_url: `https://shop.example/page-${n}`,
          },
        ],
      }),
    })
    expect(res.status).toBe(200)
  }

  it('polls every 3 s instead of opening a stream, and shows a new visitor', async () => {
    await visit(1)
    await page.goto(`${server.url}/`)
    await page.getByLabel('Dashboard password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('#live')
    await expect
      .poll(() => page.locator('[data-live="status"]').textContent(), { timeout: 10_000 })
      .toBe('updating every 3 s')
    expect(await page.locator('[data-live="count"]').textContent()).toBe('1')
    await visit(2)
    // Within one poll (3 s) and a little: no reload, no push.
    await page.locator('[data-live="count"]', { hasText: /^2$/ }).waitFor({ timeout: 8_000 })
    expect(requested.filter((p) => p === '/api/realtime/stream')).toEqual([])
    expect(requested.filter((p) => p === '/api/realtime').length).toBeGreaterThanOrEqual(1)
  })
})
