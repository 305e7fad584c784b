import { readablePath } from '../../core/page-url.ts'
import type { RealtimeSnapshot } from '../../live/live-window.ts'
import { clockTime, LIVE_CLASS, liveCount, timelineHref } from '../live-view.ts'
import { visibleText } from '../visible-text.ts'
import { updateLiveChart } from './charts.ts'

const POLL_MS = 3_000

/** Creates an element whose text is set with textContent: visitor data is never parsed as HTML. */
function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag)
  node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function pageItems(s: RealtimeSnapshot): HTMLElement[] {
  if (s.pages.length === 0) return [el('li', LIVE_CLASS.empty, 'Nobody right now')]
  return s.pages.map((p) => {
    const li = el('li', LIVE_CLASS.pageItem)
    const shown = visibleText(readablePath(p.page_url))
    const path = el('span', LIVE_CLASS.pagePath, shown)
    path.title = shown
    li.append(path, el('span', LIVE_CLASS.pageCount, liveCount(p.visitors, s.approximate)))
    return li
  })
}

function feedItems(siteId: string, s: RealtimeSnapshot): HTMLElement[] {
  if (s.recent_events.length === 0)
    return [el('li', LIVE_CLASS.empty, 'No events in the last 30 minutes')]
  return s.recent_events.map((e) => {
    const link = el('a', LIVE_CLASS.feedLink) as HTMLAnchorElement
    // A fixed path with an encoded query: the session id cannot make it a javascript: URL.
    link.href = timelineHref(siteId, e.session_id, e.timestamp)
    const time = el('time', LIVE_CLASS.feedTime, clockTime(e.timestamp))
    time.setAttribute('datetime', e.timestamp)
    link.append(
      time,
      el('span', LIVE_CLASS.feedType, visibleText(e.event_type)),
      el('span', LIVE_CLASS.feedPath, visibleText(readablePath(e.page_url))),
      el('span', LIVE_CLASS.feedTitle, visibleText(e.title)),
    )
    const li = el('li', LIVE_CLASS.feedItem)
    li.append(link)
    return li
  })
}

function render(root: HTMLElement, siteId: string, s: RealtimeSnapshot): void {
  const part = (name: string) => root.querySelector<HTMLElement>(`[data-live="${name}"]`)
  const count = part('count')
  if (count) {
    count.textContent = liveCount(s.active_visitors, s.approximate)
    count.title = s.approximate
      ? 'An estimate: more live visitors than the live view keeps one by one'
      : ''
  }
  part('pages')?.replaceChildren(...pageItems(s))
  part('feed')?.replaceChildren(...feedItems(siteId, s))
  const chart = part('chart')
  if (chart instanceof HTMLCanvasElement) updateLiveChart(chart, s.pageviews_per_minute)
}

/**
 * Keeps "Right now" current: SSE pushes while the stream is up; while it is down (or where
 * EventSource is missing) a 3-second poll of the same snapshot, until a push arrives again.
 */
export function initLive(): void {
  const root = document.getElementById('live')
  const siteId = root?.dataset.site
  const streamUrl = root?.dataset.streamUrl
  const pollUrl = root?.dataset.pollUrl
  if (!root || !siteId || !pollUrl) return
  const status = root.querySelector<HTMLElement>('[data-live="status"]')
  const setStatus = (text: string) => {
    if (status) status.textContent = text
  }

  let timer: number | undefined
  const poll = async () => {
    try {
      const res = await fetch(pollUrl, {
        headers: { accept: 'application/json' },
        cache: 'no-store',
      })
      // Signed out or the token expired: the page itself shows the sign-in form.
      if (res.status === 401) return window.location.reload()
      if (!res.ok) return setStatus('reconnecting…')
      const body = (await res.json()) as { data: RealtimeSnapshot }
      render(root, siteId, body.data)
      setStatus('updating every 3 s')
    } catch {
      setStatus('offline, retrying…')
    }
  }
  const startPolling = () => {
    if (timer !== undefined) return
    void poll()
    timer = window.setInterval(poll, POLL_MS)
  }
  const stopPolling = () => {
    window.clearInterval(timer)
    timer = undefined
  }

  // No stream offered (the DynamoDB shape), or no EventSource: poll.
  if (!streamUrl || typeof EventSource === 'undefined') return startPolling()
  const source = new EventSource(streamUrl)
  source.addEventListener('snapshot', (event) => {
    stopPolling()
    setStatus('live')
    render(root, siteId, JSON.parse((event as MessageEvent<string>).data) as RealtimeSnapshot)
  })
  // EventSource retries by itself after a network error; polling bridges the gap (and
  // takes over for good when the server refuses the stream, e.g. behind API Gateway).
  source.addEventListener('error', startPolling)
}
