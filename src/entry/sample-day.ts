/**
 * A believable day of traffic for a fresh deployment (`npm run sample-data`): visitors from
 * search, social, newsletters and direct visits, sessions of one page to a dozen, sign-ups and
 * downloads, time on page, several visitors at once; sent through the public collector API
 * of either shape as the tracker sends it (batches of a session's events, `event_id`s, so a
 * retry is stored once). The collector takes events up to a day old: the day is the last 23
 * hours.
 */

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
]
const REFERRERS = [
  '',
  '',
  'https://www.google.com/',
  'https://www.google.com/',
  'https://duckduckgo.com/',
  'https://news.ycombinator.com/item?id=1',
  'https://t.co/abc',
  'https://www.reddit.com/r/webdev/',
]
const LANDINGS = ['/', '/', '/pricing', '/blog/real-time-analytics', '/docs/getting-started']
const PAGES = [
  '/',
  '/pricing',
  '/features',
  '/docs/getting-started',
  '/docs/api',
  '/blog',
  '/about',
]

export interface SampleDayOptions {
  url: string
  key: string
  visitors: number
  /** Requests in flight at once: several visitors at the same time. */
  concurrency?: number
  now?: number
  fetch?: typeof fetch
}

export interface SampleDayResult {
  visitors: number
  sessions: number
  events: number
  requests: number
  refused: number
}

/** A small seeded generator: the same day every run with the same visitor count. */
function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0
    return state / 2 ** 32
  }
}

const SCREEN_WIDTHS = [390, 820, 1280, 1920]

export async function sendSampleDay(options: SampleDayOptions): Promise<SampleDayResult> {
  const now = options.now ?? Date.now()
  const send = options.fetch ?? fetch
  const r = random(options.visitors)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T
  const origin = 'https://sample.example'
  const jobs: Array<() => Promise<boolean>> = []
  const result: SampleDayResult = { visitors: 0, sessions: 0, events: 0, requests: 0, refused: 0 }
  const dayStart = now - 23 * 3_600_000
  for (let v = 0; v < options.visitors; v++) {
    result.visitors++
    // Each visitor its own browser build, so each is a visitor of its own.
    const userAgent = `${pick(BROWSERS)} Sample/${v}`
    // Viewports of every screen class, without a draw: the rest of the day stays as it was.
    const screenWidth = SCREEN_WIDTHS[v % SCREEN_WIDTHS.length]
    const visits = 1 + Math.floor(r() * r() * 3)
    for (let s = 0; s < visits; s++) {
      result.sessions++
      const session = `sample-${v}-${s}-${Math.floor(r() * 1e9).toString(36)}`
      // Busier in the afternoon: two draws pull times towards the middle of the day.
      let at = dayStart + ((r() + r()) / 2) * 22 * 3_600_000
      const events: Array<Record<string, unknown>> = []
      const views = r() < 0.4 ? 1 : 2 + Math.floor(r() * 10)
      let path = pick(LANDINGS)
      const referrer = pick(REFERRERS)
      for (let p = 0; p < views; p++) {
        const page = `${origin}${path}${p === 0 && referrer === '' && r() < 0.2 ? '?utm_source=newsletter&utm_medium=email&utm_content=footer' : ''}`
        events.push({
          event_id: `${session}-${p}`,
          session_id: session,
          timestamp: Math.round(at),
          event_type: 'page_view',
          page_url: page,
          title: `Sample ${path}`,
          screen_width: screenWidth,
          ...(p === 0 && referrer ? { referrer } : {}),
        })
        if (path === '/pricing' && r() < 0.3) {
          events.push({
            event_id: `${session}-${p}-signup`,
            session_id: session,
            timestamp: Math.round(at + 20_000),
            event_type: 'signup',
            page_url: page,
            props: { plan: pick(['free', 'pro', 'team']) },
          })
        }
        at += 15_000 + r() * 180_000
        path = pick(PAGES)
      }
      events.push({
        event_id: `${session}-engagement`,
        session_id: session,
        timestamp: Math.round(at),
        event_type: 'engagement',
        page_url: `${origin}${path}`,
        engagement_ms: Math.round(5_000 + r() * 120_000),
      })
      result.events += events.length
      // As the tracker sends them: batches of at most 10.
      for (let i = 0; i < events.length; i += 10) {
        const body = JSON.stringify({ events: events.slice(i, i + 10) })
        jobs.push(async () => {
          const res = await send(`${options.url.replace(/\/$/, '')}/api/events`, {
            method: 'POST',
            headers: {
              'x-api-key': options.key,
              'user-agent': userAgent,
              'content-type': 'text/plain',
            },
            body,
          })
          await res.arrayBuffer()
          return res.ok
        })
      }
    }
  }
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as () => Promise<boolean>
      result.requests++
      if (!(await job())) result.refused++
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 6 }, worker))
  return result
}
