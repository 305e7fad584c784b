import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Request,
} from 'playwright-core'
import { CHROME_UA } from './embedded-server.ts'

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it when missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Headless Chromium. `launch` gives every run a fresh temporary profile (user-data-dir) that
 * Playwright deletes on close; each test then works in its own incognito-like context.
 */
export function launchChromium(): Promise<Browser> {
  // Without a browser the browser tests fail rather than skip: a skipped suite reads as green.
  if (!existsSync(CHROMIUM_PATH)) {
    return Promise.reject(
      new Error(
        `Chromium not found at ${CHROMIUM_PATH}: the browser tests need it. ` +
          'Install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.',
      ),
    )
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  })
}

/**
 * A context that looks like a desktop Chrome: the headless user agent ("HeadlessChrome") is
 * a bot to the collector, which acknowledges and drops its events.
 */
export async function desktopContext(
  browser: Browser,
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ userAgent: CHROME_UA, ...options })
  context.setDefaultTimeout(10_000)
  context.setDefaultNavigationTimeout(10_000)
  return context
}

export interface PageServer {
  /** `http://127.0.0.1:PORT` */
  url: string
  close: () => Promise<void>
}

/**
 * A tiny site on its own loopback port (so the tracker is installed cross-origin): every path
 * answers what `render(path)` returns (a string is an HTML page), as a single-page app's
 * server would.
 */
export async function startPageServer(
  render: (path: string) => string | { type: string; body: string },
): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/favicon.ico') {
      res.writeHead(204).end()
      return
    }
    const answer = render(path)
    const { type, body } =
      typeof answer === 'string' ? { type: 'text/html; charset=utf-8', body: answer } : answer
    res.writeHead(200, { 'content-type': type }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface SentBatch {
  /** fetch, or sendBeacon (the page being hidden). */
  via: 'fetch' | 'beacon'
  events: Array<Record<string, unknown>>
  /**
   * Whether the request is CORS-simple (POST, a text/plain body, no header a page may not
   * send freely), so a collector on another origin gets no preflight before it.
   */
  corsSimple: boolean
}

/** Headers a page sets that keep a request CORS-simple (the Fetch standard's safelist). */
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language', 'content-type'])

/** Every batch the page sends to the collector (CORS preflights aside), in order. */
export function recordBatches(page: Page): SentBatch[] {
  const batches: SentBatch[] = []
  page.on('request', (request: Request) => {
    if (request.method() !== 'POST' || !request.url().includes('/api/events')) return
    const body = JSON.parse(request.postData() ?? '{}') as { events?: SentBatch['events'] }
    const headers = request.headers()
    // What Chromium adds itself (user agent, referer, origin, sec-*) is not the page's.
    const set = Object.keys(headers).filter(
      (name) => !/^(user-agent|referer|origin|sec-|accept-encoding|connection|host)/.test(name),
    )
    batches.push({
      via: request.resourceType() === 'ping' ? 'beacon' : 'fetch',
      events: body.events ?? [],
      corsSimple:
        set.every((name) => SAFELISTED.has(name)) &&
        (headers['content-type'] ?? '').startsWith('text/plain'),
    })
  })
  return batches
}
