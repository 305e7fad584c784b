import { readablePath } from '../core/page-url.ts'
import type { SessionState, Site } from '../core/types.ts'
import type { EventRecord } from '../storage/store.ts'
import { formatDuration } from './format.ts'
import { html, type SafeHtml } from './html.ts'
import { LINK, PANEL, page } from './layout.ts'
import { clockTime } from './live-view.ts'
import { visibleText } from './visible-text.ts'

function backLink(site: Site): SafeHtml {
  return html`<a class="${LINK} text-sm" href="/?${new URLSearchParams({ site: site.id })}">← Back to the dashboard</a>`
}

function propsText(props: EventRecord['props']): string {
  if (!props) return ''
  return Object.entries(props)
    .map(([k, v]) => `${visibleText(k)}=${visibleText(String(v))}`)
    .join(', ')
}

function facts(s: SessionState): SafeHtml {
  const rows: Array<[string, string]> = [
    ['Started', new Date(s.start_time).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'],
    ['Duration', formatDuration((s.end_time - s.start_time) / 1000)],
    ['Page views', String(s.pageviews)],
    ['Source', visibleText(s.source)],
    ['Browser', visibleText(`${s.browser} on ${s.os} (${s.device})`)],
    ['Country', visibleText(s.country || 'Unknown')],
  ]
  if (s.user_id) rows.push(['User', visibleText(s.user_id)])
  return html`<dl class="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">${rows.map(
    ([k, v]) =>
      html`<dt class="font-medium text-slate-600 dark:text-slate-400">${k}</dt><dd class="break-words">${v}</dd>`,
  )}</dl>`
}

/** One visit, event by event; every stored string is attacker-controlled and escaped. */
export function renderTimelinePage(site: Site, s: SessionState, events: EventRecord[]): SafeHtml {
  const items = events.map(
    (e) => html`<li class="border-l-2 border-indigo-500 py-2 pl-3">
<div class="flex flex-wrap items-baseline gap-2 text-sm"><time class="font-mono text-xs tabular-nums" datetime="${new Date(e.timestamp).toISOString()}">${clockTime(new Date(e.timestamp).toISOString(), 'UTC')}</time>
<span class="rounded bg-indigo-50 px-1.5 text-xs font-medium text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200">${visibleText(e.event_type)}</span>
<span class="font-mono text-xs break-all">${visibleText(readablePath(e.path))}</span></div>
${e.title ? html`<div class="text-sm text-slate-700 dark:text-slate-300">${visibleText(e.title)}</div>` : ''}
${e.referrer ? html`<div class="text-xs break-all text-slate-600 dark:text-slate-400">from ${visibleText(e.referrer)}</div>` : ''}
${e.props ? html`<div class="font-mono text-xs break-all text-slate-600 dark:text-slate-400">${propsText(e.props)}</div>` : ''}
</li>`,
  )
  const body = html`<main class="mx-auto max-w-3xl space-y-4 p-4">
${backLink(site)}
<section class="${PANEL} space-y-3"><h1 class="text-xl font-bold">Visit on ${site.name}</h1>${facts(s)}</section>
<section class="${PANEL}"><h2 class="mb-2 text-lg font-semibold">Timeline</h2>
${items.length ? html`<ol class="space-y-1">${items}</ol>` : html`<p class="text-sm">This visit was counted before the record began: only its summary is kept.</p>`}
</section>
</main>`
  return page({ title: `Visit · ${site.name} · LiveInsight`, body, scripts: [] })
}

export function renderTimelineMissing(site: Site): SafeHtml {
  const body = html`<main class="mx-auto max-w-3xl space-y-4 p-4">${backLink(site)}
<section class="${PANEL}"><h1 class="text-xl font-bold">Visit not found</h1>
<p class="text-sm">It may still be on its way into storage (try again in a moment) or have expired.</p></section></main>`
  return page({ title: 'Visit not found · LiveInsight', body, scripts: [] })
}
