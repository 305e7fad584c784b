import type { Site } from '../core/types.ts'
import { html, type SafeHtml } from './html.ts'
import { PANEL } from './layout.ts'

/** The tag to paste; `collector` when events go elsewhere than the tracker's origin. */
export function trackerSnippet(origin: string, apiKey: string, collector?: string): string {
  const api = collector && collector !== origin ? ` data-api="${collector}"` : ''
  return `<script defer src="${origin}/liveinsight.js" data-api-key="${apiKey}"${api}></script>`
}

/**
 * The tracking code, ready to copy. Open and first on the page while the site has no data;
 * folded away afterwards, where it is still found when another site is added.
 */
export function renderOnboarding(
  origin: string,
  site: Site,
  hasData: boolean,
  collector?: string,
): SafeHtml {
  const snippet = trackerSnippet(origin, site.api_key, collector)
  const content = html`<p class="text-sm">Paste this into the <code>&lt;head&gt;</code> of every page of <strong>${site.domain}</strong>. Page views appear under “Right now” within 5 seconds; outbound links and custom events go with the next page view, or within 30 seconds.</p>
<div class="relative"><pre class="overflow-x-auto rounded-lg bg-slate-900 p-3 pr-20 text-xs text-slate-100"><code id="snippet-${site.id}">${snippet}</code></pre>
<button type="button" data-copy="snippet-${site.id}" class="absolute top-2 right-2 rounded bg-slate-700 px-2 py-1 text-xs font-semibold text-white hover:bg-slate-600">Copy</button></div>
<p class="text-sm">Ingest key: <code class="break-all rounded bg-slate-100 px-1 font-mono text-xs dark:bg-slate-800" data-api-key>${site.api_key}</code></p>`
  if (!hasData) {
    return html`<section id="onboarding" class="${PANEL} space-y-3 ring-2 ring-indigo-500" aria-labelledby="onboarding-title">
<h2 id="onboarding-title" class="text-lg font-semibold">No data yet: install the tracker</h2>
${content}
</section>`
  }
  return html`<details class="${PANEL} space-y-3"><summary class="cursor-pointer text-sm font-semibold">Tracking code for ${site.name}</summary>${content}</details>`
}
