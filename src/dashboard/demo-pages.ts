import { html, type SafeHtml } from './html.ts'
import { BUTTON, LINK, PANEL, page } from './layout.ts'

export const DEMO_PAGES = {
  '/demo': {
    title: 'Acme Demo: Home',
    heading: 'Welcome to Acme',
    text: 'A tiny site with the LiveInsight tracker installed. Browse around and watch the dashboard.',
  },
  '/demo/pricing': {
    title: 'Acme Demo: Pricing',
    heading: 'Pricing',
    text: 'One plan, free forever. Sign up below to send a custom event.',
  },
  '/demo/blog': {
    title: 'Acme Demo: Blog',
    heading: 'Blog',
    text: 'Notes on building privacy-friendly analytics.',
  },
  '/demo/spa/step-2': {
    title: 'Acme Demo: Step 2',
    heading: 'Step 2',
    text: 'This page was reached with history.pushState, as a single-page app would.',
  },
} as const
export type DemoPath = keyof typeof DEMO_PAGES
const NAV_LABELS = { '/demo': 'Home', '/demo/pricing': 'Pricing', '/demo/blog': 'Blog' } as const

/**
 * A small public site for trying the tracker. Behaviour lives in /assets/demo.js (the CSP
 * allows no inline handlers); the tracker is the real one, for the default site.
 */
export function renderDemoPage(path: DemoPath, apiKey: string): SafeHtml {
  const p = DEMO_PAGES[path]
  const nav = (['/demo', '/demo/pricing', '/demo/blog'] as const).map(
    (href) =>
      html`<a class="${LINK}${href === path ? ' font-semibold' : ''}" href="${href}">${NAV_LABELS[href]}</a>`,
  )
  const body = html`<header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
<nav class="mx-auto flex max-w-3xl flex-wrap gap-4 p-4" aria-label="Demo site">${nav}</nav>
</header>
<main class="mx-auto max-w-3xl space-y-4 p-4">
<section class="${PANEL} space-y-3">
<h1 id="demo-heading" class="text-2xl font-bold">${p.heading}</h1>
<p id="demo-text">${p.text}</p>
</section>
<section class="${PANEL} flex flex-wrap items-center gap-3">
<button type="button" id="demo-signup" class="${BUTTON}">Sign up (custom event)</button>
<button type="button" id="demo-spa" class="${BUTTON}">Go to step 2 (SPA route change)</button>
<a class="${LINK}" href="https://example.com/">Outbound link to example.com</a>
</section>
<p id="demo-status" class="text-sm text-slate-600 dark:text-slate-400" aria-live="polite"></p>
</main>`
  return page({
    title: p.title,
    body,
    // The real tracker snippet, for the default site, as a site owner pastes it.
    head: html`<script defer src="/liveinsight.js" data-api-key="${apiKey}"></script>`,
    scripts: ['/assets/demo.js'],
  })
}
