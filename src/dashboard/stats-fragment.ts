import { readablePath } from '../core/page-url.ts'
import type { LaggedStatsReport } from '../queries/stats-report.ts'
import { formatMetric, lagNotice, metricLabel, percentChange, uncountedNotice } from './format.ts'
import { html, type SafeHtml } from './html.ts'
import { visibleText } from './visible-text.ts'

function change(value: number | null | undefined): SafeHtml {
  if (value === undefined) return html``
  if (value === null) return html`<span class="change">new</span>`
  const { pct, text } = percentChange(value)
  return html`<span class="change ${pct >= 0 ? 'up' : 'down'}">${text}</span>`
}

/** Page columns show the path as people read it; escaping still happens in `html`. */
function cell(key: string, value: string | number | undefined) {
  if (typeof value !== 'string') return value
  return visibleText(key === 'page_url' ? readablePath(value) : value)
}

function table(
  title: string,
  rows: Array<Record<string, string | number>>,
  key: string,
  metric: string,
) {
  return html`<section class="breakdown"><h3>${title}</h3>
<table><thead><tr><th scope="col">${title}</th><th scope="col">${metric}</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td>${cell(key, r[key])}</td><td>${r[metric]}</td></tr>`)}
</tbody></table></section>`
}

/**
 * The stats view as an HTMX fragment (`/api/stats` asked for HTML), named and formatted as the
 * dashboard page's stats panel; every value passes through the escaping template.
 */
export function renderStatsFragment(report: LaggedStatsReport): SafeHtml {
  // Only while the roll-up trails: the numbers below miss the newest events.
  const lag = lagNotice(report.rollup_lag_s)
  const uncounted = uncountedNotice(report.uncounted, report.timezone)
  const cards = Object.entries(report.summary).map(
    ([name, m]) =>
      html`<div class="card" data-metric="${name}"><div class="label">${metricLabel(name)}</div>
<div class="value">${formatMetric(name, m.value)}</div>${change(m.change)}</div>`,
  )
  return html`<div class="stats" data-period="${report.period}">
${uncounted ? html`<p class="uncounted" role="alert" data-uncounted="${report.uncounted?.items ?? 0}">${uncounted}</p>` : ''}
${lag ? html`<p class="lag" role="status" data-rollup-lag="${report.rollup_lag_s}">${lag}</p>` : ''}
<div class="cards">${cards}</div>
${table('Top pages', report.top_pages, 'page_url', 'pageviews')}
${table('Sources', report.sources, 'source', 'visitors')}
${table('Countries', report.countries, 'country_name', 'visitors')}
${table('Events', report.events, 'name', 'events')}
</div>`
}
