import { type Filter, filterText } from '../core/stats-filters.ts'
import { filterWords } from './filter-labels.ts'
import { html, type SafeHtml } from './html.ts'
import type { PanelReport } from './panel-report.ts'
import { dashboardHref, type ViewState, withoutFilter } from './view-href.ts'

function chip(view: ViewState, filter: Filter): SafeHtml {
  const words = filterWords(filter)
  const text = `${words.dim} ${words.op} ${words.value}`
  return html`<li data-filter="${filterText(filter)}" class="flex items-center gap-1 rounded-full bg-amber-100 py-0.5 pr-1 pl-3 dark:bg-amber-900">
<span>${words.dim} ${words.op} <strong class="break-all">${words.value}</strong></span>
<a class="rounded-full px-1.5 font-semibold hover:bg-amber-200 dark:hover:bg-amber-800" href="${dashboardHref(withoutFilter(view, filter))}" title="Remove ${text}" aria-label="Remove filter: ${text}">×</a></li>`
}

/**
 * The applied filters as chips, each removed by one click; every figure below is narrowed by
 * all of them. The live panel is not: it says so too.
 */
export function renderFilterBar(view: ViewState): SafeHtml {
  const filters = view.filters ?? []
  if (filters.length === 0) return html``
  return html`<div class="flex flex-wrap items-center gap-2 rounded-lg bg-amber-50 p-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100">
<span class="font-medium">Filtered:</span>
<ul class="flex flex-wrap gap-2" aria-label="Filters">${filters.map((f) => chip(view, f))}</ul>
<a class="font-semibold underline" href="${dashboardHref({ ...view, filters: [] })}">Clear filters</a>
<span class="text-amber-800 dark:text-amber-200">Every figure below is filtered; the live panel above is not.</span>
</div>`
}

/**
 * Only when some of the period's visits predate the record: page, event and property filters
 * and breakdowns cannot count them, so they count from when the record began.
 */
export function renderRecordNotice(report: PanelReport): SafeHtml {
  if (!report.record_partial) return html``
  const since =
    report.record_since === null || report.record_since === undefined
      ? null
      : new Date(report.record_since).toLocaleDateString('en-GB', {
          timeZone: report.timezone,
          dateStyle: 'medium',
        })
  const from = since ? `count only from ${since}` : 'do not count this period yet'
  return html`<p role="note" class="rounded-lg bg-slate-100 p-2 text-sm text-slate-800 dark:bg-slate-800 dark:text-slate-200" data-record-since="${report.record_since ?? ''}">Page, event and property filters and breakdowns ${from}: earlier visits were counted before their pages and events were kept.</p>`
}
