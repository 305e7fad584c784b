import { readablePath } from '../core/page-url.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { html, type SafeHtml } from './html.ts'
import { clockTime, liveCount } from './live-view.ts'
import { visibleText } from './visible-text.ts'

/** The live view as an HTMX fragment; every value passes through the escaping template. */
export function renderRealtimeFragment(s: RealtimeSnapshot): SafeHtml {
  const pages = s.pages.map(
    (p) =>
      html`<li><span class="page">${visibleText(readablePath(p.page_url))}</span> <b>${liveCount(p.visitors, s.approximate)}</b></li>`,
  )
  const events = s.recent_events.map(
    (e) =>
      html`<li><time datetime="${e.timestamp}">${clockTime(e.timestamp, 'UTC')}</time> <span class="type">${visibleText(e.event_type)}</span> <span class="page">${visibleText(readablePath(e.page_url))}</span> <span class="title">${visibleText(e.title)}</span> <span class="country">${visibleText(e.country)}</span></li>`,
  )
  return html`<div class="realtime" data-generated-at="${s.generated_at}">
<div class="card"><div class="value" data-metric="active_visitors">${liveCount(s.active_visitors, s.approximate)}</div><div class="label">visitors in the last 5 minutes</div></div>
<section class="pages"><h3>Current pages</h3><ol>${pages}</ol></section>
<section class="recent"><h3>Latest events</h3><ol>${events}</ol></section>
</div>`
}
