import type { Browser, BrowserContext, Response } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  desktopContext,
  launchChromium,
  type PageServer,
  recordBatches,
  startPageServer,
} from './support/browser.ts'
import { startTestServer, TEST_API_KEY, type TestServer } from './support/embedded-server.ts'

// The real tracker in a real Chromium against a collector that allows one request a minute
// from an address: the tracker must keep the batch it was refused, back off, and deliver it
// once the limit lets it through, exactly once.

const SEC = 1000

let clock = Date.now()
let t: TestServer
let site: PageServer
let browser: Browser
let context: BrowserContext | undefined

beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_PER_MINUTE: '1' }, { now: () => clock })
  site = await startPageServer(
    () => `<!doctype html><html><head><meta charset="utf-8"><title>Limited</title>
<script defer src="${t.url}/liveinsight.js" data-api-key="${TEST_API_KEY}"></script>
</head><body></body></html>`,
  )
  browser = await launchChromium()
})

afterAll(async () => {
  await context?.close()
  await browser?.close()
  await site?.close()
  await t?.stop()
})

describe('the tracker under the collector’s rate limit', () => {
  it('keeps a batch refused with 429, retries with backoff, and it is stored once', async () => {
    // This address's one request of the minute, spent before the page opens.
    const spent = await fetch(`${t.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_API_KEY },
      body: '{"events":[]}',
    })
    expect(spent.status).toBe(400)

    context = await desktopContext(browser)
    await context.clock.install({ time: Date.now() })
    const tab = await context.newPage()
    const batches = recordBatches(tab)
    const answers: number[] = []
    const isBatch = (res: Response) =>
      res.request().method() === 'POST' && res.url().startsWith(`${t.url}/api/events`)
    tab.on('response', (res) => {
      if (isBatch(res)) answers.push(res.status())
    })
    await tab.goto(`${site.url}/`)
    await tab.evaluate(`liveinsight.track('signup', { plan: 'pro' })`)

    const refused = tab.waitForResponse(isBatch)
    await tab.clock.runFor(5 * SEC)
    const first = await refused
    expect(first.status()).toBe(429)
    expect(Number(await first.headerValue('retry-after'))).toBeGreaterThan(0)

    // Still limited on the first retry, a second later.
    const refusedAgain = tab.waitForResponse(isBatch)
    await tab.clock.runFor(1 * SEC)
    expect((await refusedAgain).status()).toBe(429)

    // A minute on, on the server's clock: the next retry (2 s after the last) goes through.
    clock += 60 * SEC
    const accepted = tab.waitForResponse(isBatch)
    await tab.clock.runFor(2 * SEC)
    expect((await accepted).status()).toBe(200)
    await t.server.settle()

    expect(answers).toEqual([429, 429, 200])
    expect(batches).toHaveLength(3)
    expect(batches[1]?.events).toEqual(batches[0]?.events)
    expect(batches[2]?.events).toEqual(batches[0]?.events)
    const sessionId = await tab.evaluate<string>('sessionStorage.lis')
    const stored = t
      .db()
      .prepare('SELECT event_id, event_type FROM events WHERE client_session_id = ?')
      .all(sessionId) as Array<{ event_id: string; event_type: string }>
    expect(stored.map((e) => e.event_type).sort()).toEqual(['page_view', 'signup'])
    expect(stored.map((e) => e.event_id).sort()).toEqual(
      batches[0]?.events.map((e) => e.event_id as string).sort(),
    )

    // Nothing more is sent: the batch left the queue once it was taken.
    await tab.clock.runFor(20 * SEC)
    expect(batches).toHaveLength(3)
  })
})
