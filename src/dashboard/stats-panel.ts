import { readablePath } from '../core/page-url.ts'
import { type Filter, type FilterDimension, filterText } from '../core/stats-filters.ts'
import { renderFilterBar, renderRecordNotice } from './filter-bar.ts'
import {
  type DashboardPeriod,
  formatMetric,
  formatNumber,
  lagNotice,
  metricLabel,
  PERIOD_LABELS,
  percentChange,
  uncountedNotice,
} from './format.ts'
import { html, type SafeHtml } from './html.ts'
import { LINK, PANEL, SELECT } from './layout.ts'
import type { PanelReport } from './panel-report.ts'
import { renderPropertiesPanel } from './properties-panel.ts'
import { dashboardHref, withFilter } from './view-href.ts'
import { visibleText } from './visible-text.ts'

export interface StatsView {
  siteId: string
  period: DashboardPeriod
  /** Applied to every panel but the live one. */
  filters: Filter[]
  /** The custom property the properties panel breaks down. */
  props?: string | null
  report: PanelReport
}

function change(metric: string, value: number | null | undefined): SafeHtml {
  if (value === undefined) return html``
  if (value === null)
    return html`<span class="text-xs text-slate-600 dark:text-slate-400">new</span>`
  const { pct, text } = percentChange(value)
  // A rising bounce rate is bad news: colour by meaning, not by sign.
  const good = metric === 'bounce_rate' ? pct <= 0 : pct >= 0
  const tone = good ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400'
  return html`<span class="text-xs font-medium ${tone}" title="against the previous period">${text}</span>`
}

function cards(report: PanelReport): SafeHtml {
  return html`<div class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">${Object.entries(
    report.summary,
  ).map(
    ([name, m]) =>
      html`<div class="rounded-lg bg-slate-50 p-3 dark:bg-slate-800/60" data-metric="${name}">
<div class="text-xs font-medium text-slate-600 uppercase dark:text-slate-400">${metricLabel(name)}</div>
<div class="flex items-baseline gap-2"><span class="text-2xl font-bold tabular-nums">${formatMetric(name, m.value)}</span>${change(name, m.change)}</div>
</div>`,
  )}</div>`
}

interface TableSpec {
  title: string
  rows: Array<Record<string, string | number>>
  label: string
  metric: string
  metricTitle: string
  /** A row's label adds the filter `filterDim:value` to the view. */
  filterDim: FilterDimension
  /** The row's field the filter's value is, when not the label (a country's code). */
  valueKey?: string
  isPath?: boolean
}

function table(view: StatsView, t: TableSpec): SafeHtml {
  const body =
    t.rows.length === 0
      ? html`<tr><td colspan="2" class="py-2 text-slate-600 dark:text-slate-400">No data for this period</td></tr>`
      : html`${t.rows.map((r) => {
          const raw = String(r[t.label] ?? '')
          const value = String(r[t.valueKey ?? t.label] ?? '')
          const shown = visibleText(t.isPath ? readablePath(raw) : raw || '(none)')
          // An empty value (an unknown country) has no filter to add: the grammar needs one.
          const filter = { dim: t.filterDim, op: 'is', value } as const
          const label = value
            ? html`<a class="${LINK}" href="${dashboardHref(withFilter(view, filter))}" title="Show only ${shown}">${shown}</a>`
            : html`<span title="${shown}">${shown}</span>`
          return html`<tr class="border-t border-slate-100 dark:border-slate-800"><td class="w-full max-w-0 truncate py-1.5 pr-3 ${t.isPath ? 'font-mono text-xs' : ''}">${label}</td><td class="py-1.5 text-right tabular-nums">${formatNumber(Number(r[t.metric] ?? 0))}</td></tr>`
        })}`
  return html`<section class="${PANEL} min-w-0">
<table class="w-full text-sm"><caption class="mb-2 text-left font-semibold">${t.title}</caption>
<thead class="sr-only"><tr><th scope="col">${t.title}</th><th scope="col">${t.metricTitle}</th></tr></thead>
<tbody>${body}</tbody></table></section>`
}

function tables(view: StatsView): SafeHtml {
  const r = view.report
  const specs: TableSpec[] = [
    {
      title: 'Top pages',
      rows: r.top_pages,
      label: 'page_url',
      metric: 'pageviews',
      metricTitle: 'Pageviews',
      filterDim: 'page',
      isPath: true,
    },
    {
      title: 'Entry pages',
      rows: r.entry_pages,
      label: 'page_url',
      metric: 'entries',
      metricTitle: 'Entries',
      filterDim: 'entry_page',
      isPath: true,
    },
    {
      title: 'Exit pages',
      rows: r.exit_pages,
      label: 'page_url',
      metric: 'exits',
      metricTitle: 'Exits',
      filterDim: 'exit_page',
      isPath: true,
    },
    {
      title: 'Sources',
      rows: r.sources,
      label: 'source',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'source',
    },
    {
      title: 'Channels',
      rows: r.channels,
      label: 'channel',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'channel',
    },
    {
      title: 'UTM sources',
      rows: r.utm_sources,
      label: 'utm_source',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'utm_source',
    },
    {
      title: 'UTM mediums',
      rows: r.utm_mediums,
      label: 'utm_medium',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'utm_medium',
    },
    {
      title: 'UTM campaigns',
      rows: r.utm_campaigns,
      label: 'utm_campaign',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'utm_campaign',
    },
    {
      title: 'UTM terms',
      rows: r.utm_terms,
      label: 'utm_term',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'utm_term',
    },
    {
      title: 'UTM contents',
      rows: r.utm_contents,
      label: 'utm_content',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'utm_content',
    },
    {
      title: 'Hostnames',
      rows: r.hostnames,
      label: 'hostname',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'hostname',
    },
    {
      title: 'Countries',
      rows: r.countries,
      label: 'country_name',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'country',
      valueKey: 'country',
    },
    {
      title: 'Browsers',
      rows: r.browsers,
      label: 'browser',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'browser',
    },
    {
      title: 'Operating systems',
      rows: r.os,
      label: 'os',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'os',
    },
    {
      title: 'Devices',
      rows: r.devices,
      label: 'device',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'device',
    },
    {
      title: 'Screen sizes',
      rows: r.screens,
      label: 'screen',
      metric: 'visitors',
      metricTitle: 'Visitors',
      filterDim: 'screen',
    },
    {
      title: 'Custom events',
      rows: r.events,
      label: 'name',
      metric: 'events',
      metricTitle: 'Events',
      filterDim: 'event',
    },
  ]
  return html`<div class="grid gap-4 md:grid-cols-2 xl:grid-cols-3">${specs.map((t) => table(view, t))}${renderPropertiesPanel(view, r)}</div>`
}

function periodPicker(view: StatsView): SafeHtml {
  return html`<form method="get" action="/" class="flex items-center gap-2"
 hx-get="/" hx-trigger="change" hx-push-url="true">
<input type="hidden" name="site" value="${view.siteId}">
${view.filters.map((f) => html`<input type="hidden" name="filter" value="${filterText(f)}">`)}
${view.props ? html`<input type="hidden" name="props" value="${view.props}">` : ''}
<label for="period" class="text-sm font-medium">Period</label>
<select id="period" name="period" class="${SELECT}">${Object.entries(PERIOD_LABELS).map(
    ([value, label]) =>
      html`<option value="${value}"${value === view.period ? html` selected` : ''}>${label}</option>`,
  )}</select>
<noscript><button type="submit" class="text-sm underline">Apply</button></noscript>
</form>`
}

/** Only while the roll-up trails: the numbers below miss the newest events. */
function lagBanner(report: PanelReport): SafeHtml {
  const notice = lagNotice(report.rollup_lag_s)
  if (!notice) return html``
  return html`<p role="status" class="rounded-lg bg-sky-50 p-2 text-sm text-sky-900 dark:bg-sky-950 dark:text-sky-100" data-rollup-lag="${report.rollup_lag_s}">${notice}: the newest events are not counted yet.</p>`
}

/** While the roll-up has set events aside: every figure below misses them. */
function uncountedBanner(report: PanelReport): SafeHtml {
  const notice = uncountedNotice(report.uncounted, report.timezone)
  if (!notice) return html``
  return html`<p role="alert" class="rounded-lg bg-red-50 p-2 text-sm text-red-900 dark:bg-red-950 dark:text-red-100" data-uncounted="${report.uncounted?.items ?? 0}">${notice}.</p>`
}

function chart(report: PanelReport): SafeHtml {
  const [views, visitors] = report.timeseries.datasets
  return html`<div class="relative h-64"><canvas data-chart="timeseries" role="img"
 aria-label="Pageviews and visitors over the period"
 data-labels="${JSON.stringify(report.timeseries.labels)}"
 data-pageviews="${JSON.stringify(views?.data ?? [])}"
 data-visitors="${JSON.stringify(visitors?.data ?? [])}"></canvas></div>`
}

/**
 * The period view. Links and the period picker swap only this panel (htmx selects it out of
 * the full page answer), so the live stream keeps running; without JS they are plain links.
 */
export function renderStatsPanel(view: StatsView): SafeHtml {
  return html`<div id="stats-panel" class="space-y-4" hx-boost="true" hx-target="#stats-panel" hx-select="#stats-panel" hx-swap="outerHTML">
<section class="${PANEL} space-y-4" aria-labelledby="stats-title">
<div class="flex flex-wrap items-center justify-between gap-2">
<h2 id="stats-title" class="text-lg font-semibold">${PERIOD_LABELS[view.period]}</h2>
${periodPicker(view)}
</div>
${renderFilterBar(view)}
${renderRecordNotice(view.report)}
${uncountedBanner(view.report)}
${lagBanner(view.report)}
${cards(view.report)}
${chart(view.report)}
</section>
${tables(view)}
</div>`
}
