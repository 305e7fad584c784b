import { PROP_PREFIX } from '../core/stats-filters.ts'
import { formatNumber } from './format.ts'
import { html, type SafeHtml } from './html.ts'
import { LINK, PANEL } from './layout.ts'
import type { PanelReport } from './panel-report.ts'
import { dashboardHref, type ViewState, withFilter } from './view-href.ts'
import { visibleText } from './visible-text.ts'

function keyList(view: ViewState, keys: readonly string[]): SafeHtml {
  return html`<ul class="mb-3 flex flex-wrap gap-2 text-sm">${keys.map((key) => {
    const current = key === view.props
    return html`<li><a class="${current ? 'rounded bg-indigo-100 px-2 py-0.5 font-semibold dark:bg-indigo-900' : `${LINK} px-2 py-0.5`}" href="${dashboardHref({ ...view, props: key })}"${current ? html` aria-current="true"` : ''}>${visibleText(key)}</a></li>`
  })}</ul>`
}

function valueTable(view: ViewState, key: string, report: Pick<PanelReport, 'props'>): SafeHtml {
  const rows = report.props?.[key] ?? []
  // The filter grammar ends the dimension at the first colon: such a key cannot be filtered.
  const filterable = !key.includes(':')
  const body =
    rows.length === 0
      ? html`<tr><td colspan="3" class="py-2 text-slate-600 dark:text-slate-400">No values in this period</td></tr>`
      : html`${rows.map((r) => {
          const shown = visibleText(r.value)
          const label = filterable
            ? html`<a class="${LINK}" href="${dashboardHref(withFilter(view, { dim: `${PROP_PREFIX}${key}`, op: 'is', value: r.value }))}" title="Show only ${shown}">${shown}</a>`
            : html`<span title="${shown}">${shown}</span>`
          return html`<tr class="border-t border-slate-100 dark:border-slate-800"><td class="w-full max-w-0 truncate py-1.5 pr-3">${label}</td><td class="py-1.5 pr-3 text-right tabular-nums">${formatNumber(r.visitors)}</td><td class="py-1.5 text-right tabular-nums">${formatNumber(r.events)}</td></tr>`
        })}`
  return html`<table class="w-full text-sm"><caption class="mb-2 text-left font-semibold">${visibleText(key)}</caption>
<thead><tr class="text-xs text-slate-600 dark:text-slate-400"><th scope="col" class="text-left font-medium">Value</th><th scope="col" class="text-right font-medium">Visitors</th><th scope="col" class="text-right font-medium">Events</th></tr></thead>
<tbody>${body}</tbody></table>`
}

/**
 * Custom properties: the keys the period's events carry, and the top values of the one chosen
 * (`props=KEY` in the URL). Only the record knows properties: a report without them shows none.
 */
export function renderPropertiesPanel(
  view: ViewState,
  report: Pick<PanelReport, 'prop_keys' | 'props'>,
): SafeHtml {
  const keys = report.prop_keys
  // The counters answered (an unfiltered view): the keys come from the record once the page
  // has shown, so the page is as fast as the counters. Without JS the panel stays a link.
  if (keys === undefined) {
    const href = `/properties?${new URLSearchParams({ site: view.siteId, period: view.period })}`
    return html`<section class="${PANEL} min-w-0" aria-labelledby="props-title" data-panel="properties" hx-get="${href}" hx-trigger="load" hx-target="this" hx-select="[data-panel=properties]" hx-swap="outerHTML" hx-push-url="false">
<h3 id="props-title" class="mb-2 text-sm font-semibold">Properties</h3>
<p class="text-sm text-slate-600 dark:text-slate-400"><a class="${LINK}" href="${href}">Show the custom properties of this period</a></p>
</section>`
  }
  const chosen = view.props && report.props?.[view.props] ? view.props : null
  return html`<section class="${PANEL} min-w-0" aria-labelledby="props-title" data-panel="properties">
<h3 id="props-title" class="mb-2 text-sm font-semibold">Properties</h3>
${keys.length === 0 ? html`<p class="text-sm text-slate-600 dark:text-slate-400">No custom properties in this period</p>` : keyList(view, keys)}
${chosen ? valueTable(view, chosen, report) : keys.length ? html`<p class="text-sm text-slate-600 dark:text-slate-400">Choose a property to see its values.</p>` : ''}
</section>`
}
