/**
 * The LiveInsight browser tracker, built to `dist/liveinsight.js` (≤ 1,000 bytes gzipped) and
 * served at `GET /liveinsight.js`:
 *
 *   <script defer src="https://HOST/liveinsight.js" data-api-key="KEY"></script>
 *
 * Optional attributes: `data-api` (collector origin; default: where this script came from) and
 * `data-respect-dnt` (send nothing when the browser asks not to be tracked).
 *
 * Page views on load and on history navigation, `liveinsight.track(name, props)`,
 * `liveinsight.identify(userId)`, outbound-link clicks, engagement time when the page is
 * hidden. Events are queued and sent with fetch (retried with backoff on 429/5xx and network
 * errors): at the next 5 s tick once a page view is queued (the live view shows a visit within
 * 5 s), at once at 10 events, and otherwise at the first tick at which the oldest queued event
 * is over 25 s old (so within 30 s): custom events and outbound clicks mostly share the next
 * page view's request (each request is a billed invocation on AWS). Everything queued goes with
 * `sendBeacon` when the page is hidden. No cookies: the session id lives in sessionStorage and
 * is renewed after 30 minutes without an event.
 *
 * Written for size: every byte here ships to every page view of every site.
 */

type Props = Record<string, string | number | boolean | null>

export interface LiveInsight {
  track: (name: string, props?: Props) => void
  identify: (userId?: string) => void
}

declare global {
  interface Window {
    liveinsight?: LiveInsight
  }
}

const SESSION_MS = 30 * 60_000
/** The flush timer's tick; a queued page view goes at the next one. */
const FLUSH_MS = 5_000
/**
 * Other events go at the first tick at which one queued is older than this: 25 to 30 s after
 * the oldest was queued, when no page view, 10 events or a hidden page sent it before.
 */
const HOLD_MS = 25_000
const BATCH = 10
/** The collector takes at most 100 events per request. */
const MAX_BATCH = 100

const doc = document
const nav = navigator
const now = Date.now
const script = doc.currentScript as HTMLScriptElement | null
const data = script?.dataset
const key = data?.apiKey
/**
 * The key goes in the query string and the body as text/plain: a CORS-simple request, which
 * sends no preflight (a custom header would cost one more request per visit), and which
 * sendBeacon, which cannot set headers, sends alike. Keys are URL-safe ([A-Za-z0-9_-]).
 */
const api = script && `${new URL('/api/events', data?.api || script.src).href}?api_key=${key}`
/** Nothing is sent without a key, or when asked not to track (the API still exists then). */
const off = !key || (data?.respectDnt != null && nav.doNotTrack == '1')

/** randomUUID exists only in secure contexts; a plain-http page gets time + randomness. */
const uuid = () => crypto.randomUUID?.() || now() + '' + Math.random()
const body = (events: Queued[]) => JSON.stringify({ events })

interface Queued {
  timestamp: number
  /** Page views alone have one (a string, empty for a direct visit). */
  referrer?: string
  [field: string]: unknown
}

let queue: Queued[] = []
let busy = 0
let fails = 0
let userId: string | undefined
let lastUrl: string | undefined
/** Visible time on the current page: the sum so far, and since when it is visible (0: hidden). */
let engaged = 0
let shownAt = 0

/**
 * Where the session id (`lis`) and the time of the last event (`lit`) live. Storage may be
 * refused (sandboxed frame, strict privacy settings): then a plain object keeps them for the
 * page's lifetime.
 */
let store: Storage
try {
  store = sessionStorage
} catch {
  store = {} as Storage
}

function send(eventType: string, extra?: object): void {
  if (off) return
  const at = now()
  // The tab's session id, renewed after 30 minutes without an event.
  if (!store.lis || at - store.lit > SESSION_MS) store.lis = uuid()
  store.lit = at
  queue.push({
    event_type: eventType,
    event_id: uuid(),
    session_id: store.lis,
    timestamp: at,
    page_url: location.href,
    title: doc.title,
    user_id: userId,
    screen_width: innerWidth,
    ...extra,
  })
  // The queue holds BATCH events (a byte shorter than comparing its length).
  if (queue[BATCH - 1]) flush()
}

function flush(beacon?: unknown): void {
  if (beacon) {
    if (queue[0] && nav.sendBeacon(api as string, body(queue.slice(0, MAX_BATCH))))
      queue.splice(0, MAX_BATCH)
    return
  }
  // `busy` also holds while a failed batch waits for its retry (which finds the queue empty
  // when the page was hidden meanwhile: the beacon took the batch).
  if (busy || !queue[0]) return
  busy = 1
  const batch = queue.splice(0, MAX_BATCH)
  // Rate limited, a server fault or no answer: keep the batch and retry later, with backoff.
  const retry = () => {
    queue = batch.concat(queue)
    setTimeout(() => {
      busy = 0
      flush()
    }, 1000 << Math.min(fails++, 6))
  }
  // A string body goes as text/plain, which the collector takes as JSON.
  fetch(api as string, { method: 'POST', keepalive: true, body: body(batch) })
    // Any other 4xx is final: the batch is dropped.
    .then((res) => (res.status == 429 || res.status > 499 ? retry() : (busy = fails = 0)), retry)
}

/** A page view, unless the URL did not change; an in-app view's referrer is the last page. */
function pageView(): void {
  if (lastUrl == location.href) return
  send('page_view', { referrer: lastUrl || doc.referrer })
  lastUrl = location.href
  engaged = 0
  if (shownAt) shownAt = now()
}

function hidden(): void {
  if (shownAt) engaged += now() - shownAt
  shownAt = 0
  if (engaged) send('engagement', { engagement_ms: engaged })
  engaged = 0
  flush(1)
}

// A second copy of the script on the same page stays silent.
if (!window.liveinsight) {
  window.liveinsight = {
    track: (name, props) => send(name, { props }),
    identify: (id) => {
      userId = id
    },
  }
  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method]
    history[method] = (...args: Parameters<History['pushState']>) => {
      original.apply(history, args)
      pageView()
    }
  }
  addEventListener('popstate', pageView)
  addEventListener('pagehide', hidden)
  doc.addEventListener('visibilitychange', () => {
    if (doc.visibilityState == 'hidden') hidden()
    else shownAt = now()
  })
  // Capture phase: a page that stops propagation still has its outbound clicks counted.
  doc.addEventListener(
    'click',
    (event) => {
      const link = (event.target as Element).closest?.('a[href]') as HTMLAnchorElement | null
      if (link && link.host != location.host && /^http/.test(link.protocol)) {
        send('outbound_click', { props: { url: link.href } })
      }
    },
    true,
  )
  // A queued page view (the only event with a referrer) goes at the next tick. The rest waits
  // for one, for 10 events, for the page to be hidden, or until the oldest of them is over
  // HOLD_MS old: one request for a page's events, and none when the queue is empty.
  setInterval(
    () => queue.some((e) => e.referrer != null || now() - e.timestamp > HOLD_MS) && flush(),
    FLUSH_MS,
  )
  if (!doc.hidden) shownAt = now()
  pageView()
}
