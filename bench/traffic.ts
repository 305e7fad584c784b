import { randomBytes, randomUUID } from 'node:crypto'

/**
 * Synthetic but realistic tracker traffic: a few thousand browser sessions, each with a real
 * desktop or mobile user agent, wandering over a few hundred pages of https://example.com.
 * Every event gets a fresh random event_id, so nothing is ever a duplicate.
 */

/** Real browser user agents (no bots, no headless, no empty one: those are dropped as bots). */
export const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0',
  'Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
]

const ORIGIN = 'https://example.com'

const SECTIONS = ['blog', 'docs', 'products', 'guides', 'help', 'changelog'] as const
const SLUG_WORDS = [
  'getting-started',
  'pricing-explained',
  'privacy',
  'dashboard',
  'real-time',
  'funnels',
  'retention',
  'api',
  'tracking',
  'cookies',
  'performance',
  'migration',
  'self-hosting',
  'teams',
  'exports',
  'alerts',
  'goals',
  'campaigns',
] as const

const EXTERNAL_REFERRERS = [
  'https://www.google.com/',
  'https://www.google.de/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://t.co/x7Kq2Lm9Ab',
  'https://news.ycombinator.com/',
  'https://www.reddit.com/r/webdev/',
  'https://www.linkedin.com/',
  'https://github.com/',
] as const

const CAMPAIGNS = [
  '?utm_source=newsletter&utm_medium=email&utm_campaign=spring_launch',
  '?utm_source=twitter&utm_medium=social&utm_campaign=launch_week',
  '?utm_source=google&utm_medium=cpc&utm_campaign=brand',
  '?ref=producthunt',
] as const

interface Page {
  url: string
  path: string
  title: string
}

interface Session {
  id: string
  userAgent: string
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T
}

function titleOf(path: string): string {
  const last = path.split('/').filter(Boolean).pop() ?? 'home'
  const words = last.replace(/-\d+$/, '').split('-')
  return `${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ')} · Example`
}

function buildPages(count: number): Page[] {
  const paths = ['/', '/pricing', '/about', '/contact', '/careers', '/signup', '/login']
  for (let i = 0; paths.length < count; i++) {
    const section = SECTIONS[i % SECTIONS.length] as string
    const word = SLUG_WORDS[Math.floor(i / SECTIONS.length) % SLUG_WORDS.length] as string
    const round = Math.floor(i / (SECTIONS.length * SLUG_WORDS.length))
    paths.push(`/${section}/${word}${round ? `-${round + 1}` : ''}`)
  }
  return paths.map((path, i) => ({
    // Some landing URLs carry campaign parameters or a fragment, as real ones do.
    url: `${ORIGIN}${path}${i % 17 === 0 ? (CAMPAIGNS[i % CAMPAIGNS.length] as string) : ''}${i % 23 === 0 ? '#top' : ''}`,
    path,
    title: titleOf(path),
  }))
}

function customEvent(): { event_type: string; props: Record<string, string | number | boolean> } {
  const r = Math.random()
  if (r < 0.35) {
    return {
      event_type: 'click',
      props: {
        target: pick(['cta-hero', 'nav-pricing', 'footer-docs']),
        position: (1 + r * 10) | 0,
      },
    }
  }
  if (r < 0.55) return { event_type: 'scroll_depth', props: { percent: pick([25, 50, 75, 100]) } }
  if (r < 0.7) return { event_type: 'outbound_link', props: { url: pick(EXTERNAL_REFERRERS) } }
  if (r < 0.8) return { event_type: 'signup', props: { plan: pick(['free', 'pro', 'team']) } }
  if (r < 0.9) {
    return {
      event_type: 'add_to_cart',
      props: { sku: `SKU-${1000 + ((r * 1e4) | 0)}`, price: 29.9 },
    }
  }
  return { event_type: 'file_download', props: { file: 'whitepaper.pdf', gated: r > 0.95 } }
}

export interface TrafficOptions {
  sessions: number
  pages: number
}

export interface GeneratedRequest {
  userAgent: string
  body: string
}

/** Request bodies as the tracker posts them: `{"events":[…]}`, one session per request. */
export class Traffic {
  private readonly sessions: Session[]
  private readonly pages: Page[]

  constructor(options: TrafficOptions) {
    this.pages = buildPages(options.pages)
    this.sessions = Array.from({ length: options.sessions }, (_, i) => ({
      id: randomBytes(12).toString('base64url'),
      userAgent: USER_AGENTS[i % USER_AGENTS.length] as string,
    }))
  }

  /** One request of `count` events from a random session; `userAgent` goes in the header. */
  next(count: number, userAgent?: string): GeneratedRequest {
    const session = pick(this.sessions)
    const timestamp = Date.now()
    const events: Record<string, unknown>[] = []
    for (let i = 0; i < count; i++) events.push(this.event(session, timestamp))
    return { userAgent: userAgent ?? session.userAgent, body: JSON.stringify({ events }) }
  }

  private event(session: Session, timestamp: number): Record<string, unknown> {
    const page = pick(this.pages)
    const r = Math.random()
    const base = {
      event_id: randomUUID(),
      session_id: session.id,
      timestamp,
      page_url: page.url,
      title: page.title,
    }
    // Mostly page views; some engagement pings and some custom events.
    if (r < 0.8) {
      const referrer =
        r < 0.35 ? '' : r < 0.6 ? `${ORIGIN}${pick(this.pages).path}` : pick(EXTERNAL_REFERRERS)
      return { ...base, event_type: 'page_view', referrer }
    }
    if (r < 0.88) {
      return {
        ...base,
        event_type: 'engagement',
        engagement_ms: 1000 + (((r * 1e6) % 120_000) | 0),
      }
    }
    return { ...base, ...customEvent() }
  }
}
