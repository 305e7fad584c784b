import { readablePath } from '../core/page-url.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { html, type SafeHtml } from './html.ts'
import { PANEL } from './layout.ts'
import { clockTime, LIVE_CLASS, liveCount, timelineHref } from './live-view.ts'
import { visibleText } from './visible-text.ts'

function pageItems(s: RealtimeSnapshot): SafeHtml {
  if (s.pages.length === 0) return html`<li class="${LIVE_CLASS.empty}">Nobody right now</li>`
  return html`${s.pages.map((p) => {
    const path = visibleText(readablePath(p.page_url))
    return html`<li class="${LIVE_CLASS.pageItem}"><span class="${LIVE_CLASS.pagePath}" title="${path}">${path}</span><span class="${LIVE_CLASS.pageCount}">${liveCount(p.visitors, s.approximate)}</span></li>`
  })}`
}

function feedItems(siteId: string, s: RealtimeSnapshot): SafeHtml {
  if (s.recent_events.length === 0)
    return html`<li class="${LIVE_CLASS.empty}">No events in the last 30 minutes</li>`
  return html`${s.recent_events.map(
    (e) =>
      html`<li class="${LIVE_CLASS.feedItem}"><a class="${LIVE_CLASS.feedLink}" href="${timelineHref(siteId, e.session_id, e.timestamp)}"><time class="${LIVE_CLASS.feedTime}" datetime="${e.timestamp}">${clockTime(e.timestamp, 'UTC')}</time><span class="${LIVE_CLASS.feedType}">${visibleText(e.event_type)}</span><span class="${LIVE_CLASS.feedPath}">${visibleText(readablePath(e.page_url))}</span><span class="${LIVE_CLASS.feedTitle}">${visibleText(e.title)}</span></a></li>`,
  )}`
}

/**
 * "Right now": rendered once here, then kept current by the client script from SSE pushes
 * (or 3-second polling). The chart's data rides in a data attribute: no inline script.
 */
export function renderLivePanel(siteId: string, s: RealtimeSnapshot, push = true): SafeHtml {
  const q = new URLSearchParams({ site: siteId })
  // Without a stream URL the client polls (a shape whose processes cannot push).
  const stream = push ? html` data-stream-url="/api/realtime/stream?${q}"` : ''
  return html`<section id="live" class="${PANEL}" aria-labelledby="live-title"
 data-site="${siteId}"${stream} data-poll-url="/api/realtime?${q}">
<div class="mb-3 flex items-center justify-between gap-2">
<h2 id="live-title" class="text-lg font-semibold">Right now</h2>
<span class="mr-auto text-xs text-slate-600 dark:text-slate-400" data-live="unfiltered">The whole site: filters below do not apply here</span>
<span data-live="status" class="text-xs text-slate-600 dark:text-slate-400">connecting…</span>
</div>
<div class="grid gap-4 lg:grid-cols-3">
<div class="space-y-3">
<p><span data-live="count" data-metric="active_visitors" class="block text-5xl font-bold tabular-nums" aria-live="polite" title="${s.approximate ? 'An estimate: more live visitors than the live view keeps one by one' : ''}">${liveCount(s.active_visitors, s.approximate)}</span>
<span class="text-sm text-slate-600 dark:text-slate-400">visitors in the last 5 minutes</span></p>
<div class="relative h-32"><canvas data-live="chart" role="img" aria-label="Page views per minute, last 30 minutes" data-values="${JSON.stringify(s.pageviews_per_minute)}"></canvas></div>
</div>
<div class="min-w-0">
<h3 class="mb-1 text-sm font-semibold text-slate-700 dark:text-slate-300">Pages being viewed</h3>
<ol data-live="pages" class="divide-y divide-slate-100 dark:divide-slate-800">${pageItems(s)}</ol>
</div>
<div class="min-w-0">
<h3 class="mb-1 text-sm font-semibold text-slate-700 dark:text-slate-300">Live feed <span class="font-normal text-slate-600 dark:text-slate-400">(select an event for its visit)</span></h3>
<ol data-live="feed" class="max-h-80 overflow-y-auto">${feedItems(siteId, s)}</ol>
</div>
</div>
</section>`
}
