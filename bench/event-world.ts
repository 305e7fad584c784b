/**
 * A synthetic month of analytics traffic for the query benchmark (`bench/query.ts`), produced
 * as the ingest pipeline would have enriched it: `EnrichedEvent`s in time order.
 *
 * Distributions are drawn from a seeded PRNG so every run loads the same shape of data:
 * ~2,000 pages with Zipf popularity, ~30 sources (referrers and UTM campaigns, classified by
 * the real `classifyAcquisition`), clients parsed from real user agents by the real
 * `parseUserAgent`, ~40 countries, 10 custom event names (~5% of events), sessions of 1–8
 * events with gaps of seconds to minutes, 40% bounces, and a daily/weekly traffic rhythm in
 * the site's time zone. Only ids (event ids, client session ids) come from `crypto`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { localDay, utcOffsetMinutes } from '../src/core/calendar.ts'
import { normalizePageUrl } from '../src/core/page-url.ts'
import { classifyAcquisition } from '../src/core/referrer.ts'
import { screenClass } from '../src/core/screen-class.ts'
import { type Random, seededRandom } from '../src/core/seeded-random.ts'
import type { Acquisition, EnrichedEvent, PropValue, Site } from '../src/core/types.ts'
import { parseUserAgent } from '../src/core/user-agent.ts'

/** A uniform [0, 1) value derived from an integer, so visitor traits need no storage. */
function hashUnit(n: number, salt: number): number {
  let h = Math.imul(n ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) / 4_294_967_296
}

/** Weighted choice in O(log n) by binary search over cumulative weights. */
export class WeightedPick<T> {
  private readonly cumulative: number[] = []
  private readonly total: number

  constructor(
    private readonly items: readonly T[],
    weights: readonly number[],
  ) {
    let sum = 0
    for (const w of weights) {
      sum += w
      this.cumulative.push(sum)
    }
    this.total = sum
  }

  pick(unit: number): T {
    const target = unit * this.total
    let lo = 0
    let hi = this.cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.cumulative[mid] as number) > target) hi = mid
      else lo = mid + 1
    }
    return this.items[lo] as T
  }
}

const zipf = (n: number, exponent = 1) =>
  Array.from({ length: n }, (_, i) => 1 / (i + 1) ** exponent)

// ---------------------------------------------------------------------------------------------
// Vocabularies.

const TOP_PATHS = [
  '/',
  '/pricing',
  '/features',
  '/blog',
  '/docs',
  '/signup',
  '/login',
  '/about',
  '/contact',
  '/changelog',
]
const SECTIONS = ['blog', 'docs', 'guides', 'products', 'help', 'integrations', 'customers']
const WORDS = [
  'getting-started',
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
  'segments',
  'webhooks',
  'billing',
]

function buildPaths(count: number): string[] {
  const paths = [...TOP_PATHS]
  for (let i = 0; paths.length < count; i++) {
    const section = SECTIONS[i % SECTIONS.length] as string
    const word = WORDS[Math.floor(i / SECTIONS.length) % WORDS.length] as string
    const round = Math.floor(i / (SECTIONS.length * WORDS.length))
    paths.push(`/${section}/${word}${round ? `-${round + 1}` : ''}`)
  }
  return paths
}

function titleOf(path: string): string {
  const last = path.split('/').filter(Boolean).pop() ?? 'home'
  return `${last.replace(/-/g, ' ')} · Example`
}

/** How a visit arrives: a referrer and/or UTM parameters on the landing URL. */
interface Arrival {
  referrer: string
  utm: string
  weight: number
}

// ~30 distinct sources after classification: Direct, search engines, social networks, mail
// clients, referring sites and three UTM sources. Weights are percent-ish.
const ARRIVALS: readonly Arrival[] = [
  { referrer: '', utm: '', weight: 36 },
  { referrer: 'https://www.google.com/', utm: '', weight: 18 },
  { referrer: 'https://www.google.de/', utm: '', weight: 4 },
  { referrer: 'https://www.bing.com/', utm: '', weight: 3 },
  { referrer: 'https://duckduckgo.com/', utm: '', weight: 2 },
  { referrer: 'https://search.yahoo.com/', utm: '', weight: 0.6 },
  { referrer: 'https://www.ecosia.org/', utm: '', weight: 0.4 },
  { referrer: 'https://www.baidu.com/', utm: '', weight: 0.2 },
  { referrer: 'https://yandex.ru/', utm: '', weight: 0.3 },
  { referrer: 'https://www.startpage.com/', utm: '', weight: 0.1 },
  { referrer: 'https://www.qwant.com/', utm: '', weight: 0.1 },
  { referrer: 'https://search.naver.com/', utm: '', weight: 0.1 },
  { referrer: 'https://t.co/x7Kq2Lm9Ab', utm: '', weight: 3 },
  { referrer: 'https://www.facebook.com/', utm: '', weight: 2 },
  { referrer: 'https://www.linkedin.com/', utm: '', weight: 2 },
  { referrer: 'https://www.reddit.com/r/webdev/', utm: '', weight: 2 },
  { referrer: 'https://news.ycombinator.com/item?id=1', utm: '', weight: 1.5 },
  { referrer: 'https://www.youtube.com/', utm: '', weight: 1 },
  { referrer: 'https://www.instagram.com/', utm: '', weight: 0.5 },
  { referrer: 'https://mastodon.social/', utm: '', weight: 0.3 },
  { referrer: 'https://bsky.app/', utm: '', weight: 0.3 },
  { referrer: 'https://www.pinterest.com/', utm: '', weight: 0.2 },
  { referrer: 'https://mail.google.com/', utm: '', weight: 0.3 },
  { referrer: 'https://outlook.live.com/', utm: '', weight: 0.2 },
  { referrer: 'https://github.com/', utm: '', weight: 1.5 },
  { referrer: 'https://stackoverflow.com/', utm: '', weight: 1 },
  { referrer: 'https://dev.to/', utm: '', weight: 0.5 },
  { referrer: 'https://medium.com/', utm: '', weight: 0.5 },
  { referrer: 'https://www.producthunt.com/', utm: '', weight: 0.4 },
  {
    referrer: '',
    utm: 'utm_source=newsletter&utm_medium=email&utm_campaign=spring_launch',
    weight: 2,
  },
  {
    referrer: 'https://t.co/abc',
    utm: 'utm_source=twitter&utm_medium=social&utm_campaign=launch_week',
    weight: 1,
  },
  { referrer: '', utm: 'utm_source=google&utm_medium=cpc&utm_campaign=brand', weight: 2 },
  { referrer: '', utm: 'utm_source=google&utm_medium=cpc&utm_campaign=generic', weight: 1 },
  { referrer: '', utm: 'utm_source=newsletter&utm_medium=email&utm_campaign=weekly', weight: 1 },
]

// Five browsers (Chrome, Safari, Mobile Safari, Firefox, Edge), four OSes and three devices,
// as the real user-agent parser names them.
const USER_AGENTS: ReadonlyArray<readonly [string, number]> = [
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    30,
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    8,
  ],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 5],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    7,
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    8,
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    18,
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    3,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
    17,
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    2,
  ],
  ['Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', 2],
]

const COUNTRIES =
  'US DE GB FR IN CA NL BR ES IT PL SE AU JP CH AT BE DK NO FI IE PT CZ RO HU GR TR MX AR CO ZA NG KR SG ID VN PH UA IL NZ'.split(
    ' ',
  )

const CUSTOM_EVENTS = [
  'signup',
  'login',
  'add_to_cart',
  'checkout',
  'purchase',
  'file_download',
  'newsletter_subscribe',
  'video_play',
  'search',
  'share',
]

function propsFor(name: string, unit: number): Record<string, PropValue> | null {
  if (name === 'signup' || name === 'purchase') return { plan: unit < 0.7 ? 'pro' : 'team' }
  if (name === 'search') return { results: Math.floor(unit * 40) }
  return null
}

// ---------------------------------------------------------------------------------------------
// Sessions.

/** Share of sessions with a single page view (and nothing else): the bounce rate. */
const BOUNCE_SHARE = 0.4
const MIN_LENGTH = 2
const MAX_LENGTH = 8
const MEAN_EVENTS_PER_SESSION = BOUNCE_SHARE + (1 - BOUNCE_SHARE) * ((MIN_LENGTH + MAX_LENGTH) / 2)
/** Custom events are drawn only after the landing page view; this makes them ~5% of all. */
const CUSTOM_SHARE = 0.05
const CUSTOM_AFTER_FIRST = (CUSTOM_SHARE * MEAN_EVENTS_PER_SESSION) / (MEAN_EVENTS_PER_SESSION - 1)
const MIN_GAP_MS = 3_000
const MAX_GAP_MS = 8 * 60_000
/** Visitors come back: roughly this many sessions per distinct visitor over the month. */
const SESSIONS_PER_VISITOR = 2.5
/** Logged-in visitors carry a user id (their visitor id becomes "u:<id>"). */
const USER_SHARE = 0.03

interface Session {
  visitor: number
  clientSessionId: string
  landing: Acquisition
  landingQuery: string
  landingReferrer: string
  /** Events still to emit, the first one included. */
  remaining: number
  emitted: number
  nextAt: number
  maxGapMs: number
  path: string
  day: string
  visitorId: string
}

/** A binary min-heap of sessions by their next event time (a few hundred are open at once). */
class SessionHeap {
  private readonly items: Session[] = []

  get size(): number {
    return this.items.length
  }

  peek(): Session | undefined {
    return this.items[0]
  }

  push(session: Session): void {
    const a = this.items
    a.push(session)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((a[parent] as Session).nextAt <= session.nextAt) break
      a[i] = a[parent] as Session
      i = parent
    }
    a[i] = session
  }

  pop(): Session | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (!top || !last || a.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= a.length) break
      const right = left + 1
      const child =
        right < a.length && (a[right] as Session).nextAt < (a[left] as Session).nextAt
          ? right
          : left
      if ((a[child] as Session).nextAt >= last.nextAt) break
      a[i] = a[child] as Session
      i = child
    }
    a[i] = last
    return top
  }
}

/**
 * Maps "fraction of the month's events planned so far" to a time, following a daily rhythm
 * (peak mid-afternoon local time, trough at night) and quieter weekends. Starting each session
 * at the time of its share of the total makes the stream hit exactly N events at the end.
 */
class TrafficCurve {
  private readonly cumulative: Float64Array
  private readonly weights: Float64Array

  constructor(
    private readonly from: number,
    to: number,
    timeZone: string,
  ) {
    const minutes = Math.max(1, Math.floor((to - from) / 60_000))
    const offsetMs = utcOffsetMinutes(from, timeZone) * 60_000
    this.weights = new Float64Array(minutes)
    this.cumulative = new Float64Array(minutes + 1)
    for (let m = 0; m < minutes; m++) {
      const local = new Date(from + m * 60_000 + offsetMs)
      const hour = local.getUTCHours() + local.getUTCMinutes() / 60
      const weekend = local.getUTCDay() === 0 || local.getUTCDay() === 6
      const w = (1 + 0.7 * Math.sin((2 * Math.PI * (hour - 8)) / 24)) * (weekend ? 0.75 : 1)
      this.weights[m] = w
      this.cumulative[m + 1] = (this.cumulative[m] as number) + w
    }
  }

  timeAt(fraction: number): number {
    const c = this.cumulative
    const target = fraction * (c[c.length - 1] as number)
    let lo = 0
    let hi = c.length - 2
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((c[mid] as number) <= target) lo = mid
      else hi = mid - 1
    }
    const within = (target - (c[lo] as number)) / (this.weights[lo] as number)
    return this.from + (lo + Math.min(within, 1)) * 60_000
  }
}

export interface SiteTrafficOptions {
  site: Site
  events: number
  from: number
  to: number
  seed: number
  pages?: number
}

/** The time-ordered event stream of one site. */
export class SiteTraffic {
  readonly site: Site
  readonly paths: readonly string[]
  sessionsStarted = 0
  private readonly random: Random
  private readonly origin: string
  private readonly pages: WeightedPick<string>
  private readonly arrivals: WeightedPick<Arrival>
  private readonly clients: WeightedPick<string>
  private readonly countries: WeightedPick<string>
  private readonly titles = new Map<string, string>()
  private readonly curve: TrafficCurve
  private readonly heap = new SessionHeap()
  private readonly visitorPool: number
  private readonly internal: Acquisition
  private readonly acquisitions = new Map<Arrival, Acquisition>()
  private planned = 0
  private nextStart: number

  constructor(private readonly options: SiteTrafficOptions) {
    this.site = options.site
    this.random = seededRandom(options.seed)
    this.origin = `https://${options.site.domain}`
    this.paths = buildPaths(options.pages ?? 2000)
    for (const path of this.paths) this.titles.set(path, titleOf(path))
    this.pages = new WeightedPick(this.paths, zipf(this.paths.length))
    this.arrivals = new WeightedPick(
      ARRIVALS,
      ARRIVALS.map((a) => a.weight),
    )
    this.clients = new WeightedPick(
      USER_AGENTS.map(([ua]) => ua),
      USER_AGENTS.map(([, w]) => w),
    )
    this.countries = new WeightedPick(COUNTRIES, zipf(COUNTRIES.length, 1.1))
    for (const arrival of ARRIVALS) this.acquisitions.set(arrival, this.classify(arrival))
    this.internal = this.classify({ referrer: `${this.origin}/`, utm: '', weight: 0 })
    this.curve = new TrafficCurve(options.from, options.to, options.site.timezone)
    this.visitorPool = Math.max(
      1,
      Math.round(options.events / MEAN_EVENTS_PER_SESSION / SESSIONS_PER_VISITOR),
    )
    this.nextStart = this.curve.timeAt(0)
  }

  /** What the real enrichment would derive from this referrer and landing URL. */
  private classify(arrival: Arrival): Acquisition {
    const page = normalizePageUrl(`${this.origin}/${arrival.utm ? `?${arrival.utm}` : ''}`)
    return classifyAcquisition({
      referrer: arrival.referrer,
      pageHost: page.host,
      siteDomain: this.site.domain,
      utm_source: page.utm_source,
      utm_medium: page.utm_medium,
      utm_campaign: page.utm_campaign,
      utm_term: page.utm_term,
      utm_content: page.utm_content,
    })
  }

  /** Time of the next event, or Infinity once the stream is exhausted. */
  peekTime(): number {
    this.planUpTo()
    return this.heap.peek()?.nextAt ?? Number.POSITIVE_INFINITY
  }

  next(): EnrichedEvent | undefined {
    this.planUpTo()
    const session = this.heap.pop()
    if (!session) return undefined
    const event = this.emit(session)
    if (session.remaining > 0) this.heap.push(session)
    return event
  }

  /** Opens every session that starts before the earliest pending event. */
  private planUpTo(): void {
    while (this.planned < this.options.events) {
      const head = this.heap.peek()
      if (head && head.nextAt < this.nextStart) return
      this.heap.push(this.startSession(this.nextStart))
      this.nextStart = this.curve.timeAt(this.planned / this.options.events)
    }
  }

  private startSession(start: number): Session {
    const r = this.random
    const length = Math.min(
      this.options.events - this.planned,
      r() < BOUNCE_SHARE ? 1 : MIN_LENGTH + Math.floor(r() * (MAX_LENGTH - MIN_LENGTH + 1)),
    )
    this.planned += length
    this.sessionsStarted++
    // Skewed towards low indexes: a few visitors come back often, most come once or twice.
    const visitor = Math.floor(this.visitorPool * r() ** 2)
    const arrival = this.arrivals.pick(r())
    // Sessions near the end of the window squeeze their gaps so nothing lands in the future.
    const room = this.options.to - start
    return {
      visitor,
      clientSessionId: randomUUID(),
      landing: this.acquisitions.get(arrival) as Acquisition,
      landingQuery: arrival.utm ? `?${arrival.utm}` : '',
      landingReferrer: arrival.referrer,
      remaining: length,
      emitted: 0,
      nextAt: Math.round(start),
      maxGapMs: length > 1 ? Math.min(MAX_GAP_MS, room / (length - 1)) : MAX_GAP_MS,
      path: this.pages.pick(r()),
      day: '',
      visitorId: '',
    }
  }

  /** A visitor's daily id: anonymous ids change with the day's salt, as in production. */
  private visitorIdOf(session: Session, timestamp: number): string {
    const day = localDay(timestamp, this.site.timezone)
    if (day !== session.day) {
      session.day = day
      session.visitorId = this.userIdOf(session.visitor)
        ? `u:${this.userIdOf(session.visitor)}`
        : createHash('sha256')
            .update(`${this.site.id}\u001f${session.visitor}\u001f${day}`)
            .digest('base64url')
            .slice(0, 22)
    }
    return session.visitorId
  }

  private userIdOf(visitor: number): string | null {
    return hashUnit(visitor, 3) < USER_SHARE ? `user-${visitor}` : null
  }

  private emit(session: Session): EnrichedEvent {
    const r = this.random
    const first = session.emitted === 0
    const timestamp = session.nextAt
    const custom = !first && r() < CUSTOM_AFTER_FIRST
    const previous = session.path
    if (!first && !custom) session.path = this.pages.pick(r())
    const path = session.path
    const eventType = custom
      ? (CUSTOM_EVENTS[Math.floor(r() * CUSTOM_EVENTS.length)] as string)
      : 'page_view'
    const client = parseUserAgent(this.clients.pick(hashUnit(session.visitor, 1)))
    const acquisition = first ? session.landing : this.internal
    const event: EnrichedEvent = {
      site_id: this.site.id,
      timezone: this.site.timezone,
      event_id: randomUUID(),
      client_session_id: session.clientSessionId,
      timestamp,
      event_type: eventType,
      page_url: `${this.origin}${path}${first ? session.landingQuery : ''}`,
      path,
      host: this.site.domain,
      title: this.titles.get(path) ?? '',
      referrer: first ? session.landingReferrer : `${this.origin}${previous}`,
      referrer_host:
        first && URL.canParse(session.landingReferrer)
          ? new URL(session.landingReferrer).hostname
          : '',
      user_id: this.userIdOf(session.visitor),
      visitor_id: this.visitorIdOf(session, timestamp),
      props: custom ? propsFor(eventType, r()) : null,
      engagement_ms: null,
      ...acquisition,
      browser: client.browser,
      os: client.os,
      device: client.device,
      country: this.countries.pick(hashUnit(session.visitor, 2)),
      // A typical viewport of the device, so the screen table has the real spread of rows.
      screen: screenClass(
        client.device === 'mobile' ? 390 : client.device === 'tablet' ? 820 : 1536,
      ),
    }
    session.emitted++
    session.remaining--
    if (session.remaining > 0) {
      // Log-uniform gaps: many quick clicks, some minutes of reading.
      const low = Math.min(MIN_GAP_MS, session.maxGapMs)
      const gap = low * (session.maxGapMs / low) ** r()
      session.nextAt = timestamp + Math.max(1, Math.round(gap))
    }
    return event
  }
}

/** Merges several sites' streams into one time-ordered stream. */
export function* mergeByTime(streams: readonly SiteTraffic[]): Generator<EnrichedEvent> {
  for (;;) {
    let best: SiteTraffic | undefined
    let bestAt = Number.POSITIVE_INFINITY
    for (const stream of streams) {
      const at = stream.peekTime()
      if (at < bestAt) {
        best = stream
        bestAt = at
      }
    }
    const event = best?.next()
    if (!event) return
    yield event
  }
}
