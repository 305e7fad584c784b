import { html, type SafeHtml } from './html.ts'

/**
 * htmx 2 would inject an inline <style> for its indicators, which the CSP forbids; eval-based
 * features stay off too. History snapshots are not cached because charts live in canvases.
 */
const HTMX_CONFIG = html`<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0,"refreshOnHistoryMiss":true}'>`

export interface PageOptions {
  title: string
  body: SafeHtml
  /** Dashboard pages load htmx, Chart.js and the dashboard client; others only their own. */
  scripts: string[]
  /** More head elements, before the scripts (the demo's tracker snippet with its key). */
  head?: SafeHtml
}

export const DASHBOARD_SCRIPTS = [
  '/assets/htmx.min.js',
  '/assets/chart.umd.js',
  '/assets/dashboard.js',
]

/** The document shell shared by every server-rendered page. */
export function page({ title, body, scripts, head }: PageOptions): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${HTMX_CONFIG}
<title>${title}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${head ?? ''}
${scripts.map((src) => html`<script defer src="${src}"></script>`)}
</head>
<body class="min-h-screen bg-slate-100 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
${body}
</body>
</html>`
}

/** Shared look of a panel, so every box on the page lines up. */
export const PANEL =
  'rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'
export const BUTTON =
  'rounded-lg bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600'
export const SELECT =
  'rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm dark:border-slate-700 dark:bg-slate-800'
export const LINK = 'text-indigo-700 underline-offset-2 hover:underline dark:text-indigo-300'
