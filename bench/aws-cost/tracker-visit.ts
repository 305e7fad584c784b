/**
 * Events per request as the real tracker sends them: the built tracker (dist/liveinsight.js,
 * `npm run build:tracker`) on a page of its own origin, driven in Chromium over a fixed visit
 * (VISIT_SCRIPT), sending to a collector of another origin that counts what arrives: POSTs
 * (fetch and beacon), the events in each, CORS preflights, and the bytes of each request.
 * The page's timers run on Playwright's clock, so the visit's 90 seconds take a few.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { desktopContext, launchChromium, startPageServer } from '../../test/support/browser.ts'

const TRACKER = fileURLToPath(new URL('../../dist/liveinsight.js', import.meta.url))
const KEY = 'bench_visit_key'

/** The visit, as stated in the results: what the visitor does, at which second. */
export const VISIT_SCRIPT = [
  { at_s: 0, action: 'land on / (a page view)' },
  { at_s: 4, action: 'scroll down the page (the tracker records no scroll)' },
  { at_s: 8, action: "a custom event: liveinsight.track('signup_click', { plan: 'pro' })" },
  { at_s: 20, action: 'navigate in the app: history.pushState to /pricing (a page view)' },
  { at_s: 45, action: 'click an outbound link (an outbound_click; the page stays)' },
  {
    at_s: 47,
    action: 'navigate in the app: history.pushState to /docs/getting-started (a page view)',
  },
  { at_s: 80, action: 'hide the tab (engagement time, sent by sendBeacon)' },
  { at_s: 90, action: 'end: whatever is queued has gone' },
] as const

export interface SentRequest {
  method: string
  via: 'fetch' | 'beacon' | 'preflight'
  events: number
  /** Request line, headers and body as they reach the origin. */
  bytes: number
  body: string
}

export interface VisitResult {
  script: typeof VISIT_SCRIPT
  requests: SentRequest[]
  events: number
  posts: number
  preflights: number
  events_per_request: number
  request_bytes_mean: number
  /** The events as the tracker sent them (the replay's templates). */
  sent_events: Record<string, unknown>[][]
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** A collector that counts. Its preflight answer has the headers src/http/routes/events.ts sets. */
async function startCountingCollector() {
  const requests: SentRequest[] = []
  const server = createServer(async (req, res) => {
    const body = await bodyOf(req)
    const headerBytes = req.rawHeaders.reduce((s, h) => s + Buffer.byteLength(h) + 2, 0)
    const bytes =
      Buffer.byteLength(`${req.method} ${req.url} HTTP/1.1\r\n`) + headerBytes + body.length
    if (req.method === 'OPTIONS') {
      requests.push({ method: 'OPTIONS', via: 'preflight', events: 0, bytes, body })
      res
        .writeHead(204, {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'Content-Type, X-API-Key',
          'access-control-max-age': '86400',
        })
        .end()
      return
    }
    let events = 0
    try {
      events = ((JSON.parse(body) as { events?: unknown[] }).events ?? []).length
    } catch {
      events = 0
    }
    requests.push({
      method: req.method ?? '',
      // Both carry the key in the query string; sendBeacon with a text/plain body goes in
      // no-cors mode, fetch in cors mode (Fetch standard), as Chromium says in Sec-Fetch-Mode.
      via: req.headers['sec-fetch-mode'] === 'no-cors' ? 'beacon' : 'fetch',
      events,
      bytes,
      body,
    })
    res
      .writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
      .end(JSON.stringify({ ok: true, accepted: events }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function page(collector: string): string {
  const filler = Array.from(
    { length: 60 },
    (_, i) => `<p>Paragraph ${i + 1} of a long page, for the scroll.</p>`,
  ).join('\n')
  return `<!doctype html><html><head><meta charset="utf-8"><title>Example · Home</title>
<script defer src="/liveinsight.js" data-api="${collector}" data-api-key="${KEY}"></script>
</head><body>
<a id="out" href="https://example.org/partner?ref=site">partner</a>
<script>document.addEventListener('click', (e) => e.preventDefault())</script>
${filler}
</body></html>`
}

/** Runs the visit once in a fresh Chromium profile; counts what reached the collector. */
export async function measureTrackerVisit(): Promise<VisitResult> {
  const tracker = readFileSync(TRACKER, 'utf8')
  const collector = await startCountingCollector()
  const site = await startPageServer((path) =>
    path === '/liveinsight.js' ? { type: 'text/javascript', body: tracker } : page(collector.url),
  )
  const browser = await launchChromium()
  try {
    const context = await desktopContext(browser)
    await context.clock.install({ time: Date.now() })
    const tab: Page = await context.newPage()
    let now = 0
    // Fake time a second at a time, real time between, so each fetch is answered before the next
    // timer fires (as it would be in a real visit: an answer takes milliseconds).
    const until = async (second: number) => {
      while (now < second) {
        await tab.clock.runFor(1000)
        now++
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
    await tab.goto(`${site.url}/`)
    await tab.waitForFunction('window.liveinsight !== undefined')
    await until(4)
    await tab.evaluate('window.scrollTo(0, document.body.scrollHeight / 2)')
    await until(8)
    await tab.evaluate("window.liveinsight.track('signup_click', { plan: 'pro' })")
    await until(20)
    await tab.evaluate("history.pushState({}, '', '/pricing')")
    await until(45)
    await tab.click('#out')
    await until(47)
    await tab.evaluate("history.pushState({}, '', '/docs/getting-started')")
    await until(80)
    await tab.evaluate(`
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    `)
    await until(90)
    // The beacon travels on its own; give it real time to arrive.
    for (let i = 0; i < 40 && !collector.requests.some((r) => r.via === 'beacon'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await context.close()
  } finally {
    await browser.close()
    await site.close()
    await collector.close()
  }
  const requests = collector.requests
  const posts = requests.filter((r) => r.method === 'POST')
  const events = posts.reduce((s, r) => s + r.events, 0)
  if (events === 0) throw new Error('tracker visit: the collector received no events')
  return {
    script: VISIT_SCRIPT,
    requests,
    events,
    posts: posts.length,
    preflights: requests.filter((r) => r.via === 'preflight').length,
    events_per_request: events / posts.length,
    request_bytes_mean: posts.reduce((s, r) => s + r.bytes, 0) / posts.length,
    sent_events: posts.map(
      (r) => (JSON.parse(r.body) as { events: Record<string, unknown>[] }).events,
    ),
  }
}
