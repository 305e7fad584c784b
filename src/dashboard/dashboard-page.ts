import type { Site } from '../core/types.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { html, type SafeHtml } from './html.ts'
import { DASHBOARD_SCRIPTS, page, SELECT } from './layout.ts'
import { renderLivePanel } from './live-panel.ts'
import { renderOnboarding } from './onboarding.ts'
import { renderStatsPanel, type StatsView } from './stats-panel.ts'

export interface DashboardView extends StatsView {
  sites: Site[]
  site: Site
  snapshot: RealtimeSnapshot
  /** Whether the live panel takes SSE pushes (else it polls every 3 s). */
  livePush?: boolean
  hasData: boolean
  /** Where the tracker is served from, for the snippet. */
  origin: string
  /** Where it sends events, when elsewhere (COLLECTOR_ORIGIN): the snippet's `data-api`. */
  collectorOrigin?: string
}

function siteSwitcher(v: DashboardView): SafeHtml {
  // A new site means a new live stream too, so switching loads the whole page.
  return html`<form method="get" action="/" class="flex min-w-0 items-center gap-2" data-autosubmit>
<input type="hidden" name="period" value="${v.period}">
<label for="site" class="text-sm font-medium">Site</label>
<select id="site" name="site" class="${SELECT} min-w-0 max-w-48">${v.sites.map(
    (s) =>
      html`<option value="${s.id}"${s.id === v.site.id ? html` selected` : ''}>${s.domain ? `${s.name} (${s.domain})` : s.name}</option>`,
  )}</select>
<noscript><button type="submit" class="text-sm underline">Show</button></noscript>
</form>`
}

function header(v: DashboardView): SafeHtml {
  return html`<header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
<div class="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-3 px-4 py-3">
<h1 class="text-xl font-bold"><span class="text-indigo-700 dark:text-indigo-300">Live</span>Insight</h1>
<div class="flex min-w-0 flex-wrap items-center gap-3">
${siteSwitcher(v)}
<form method="post" action="/logout"><button type="submit" class="text-sm font-medium underline-offset-2 hover:underline">Sign out</button></form>
</div>
</div>
</header>`
}

/** The signed-in dashboard: live panel, period stats and the tracking code. */
export function renderDashboardPage(v: DashboardView): SafeHtml {
  const onboarding = renderOnboarding(v.origin, v.site, v.hasData, v.collectorOrigin)
  const body = html`${header(v)}
<main class="mx-auto max-w-7xl space-y-4 p-4">
${v.hasData ? '' : onboarding}
${renderLivePanel(v.site.id, v.snapshot, v.livePush)}
${renderStatsPanel(v)}
${v.hasData ? onboarding : ''}
</main>`
  return page({ title: `${v.site.name} · LiveInsight`, body, scripts: DASHBOARD_SCRIPTS })
}
