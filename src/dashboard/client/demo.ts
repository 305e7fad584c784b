interface Tracker {
  track(name: string, props?: Record<string, string | number | boolean>): void
}

/** The demo site's buttons; the tracker (/liveinsight.js) may load after this script. */
function start(): void {
  const status = document.getElementById('demo-status')
  const say = (text: string) => {
    if (status) status.textContent = text
  }
  document.getElementById('demo-signup')?.addEventListener('click', () => {
    const tracker = (window as unknown as { liveinsight?: Tracker }).liveinsight
    if (!tracker) return say('The tracker is not loaded yet.')
    tracker.track('signup', { plan: 'demo' })
    // Held by the tracker until the next page view (or at most 30 s), to save a request.
    say('Queued a "signup" event with plan=demo: it goes with the next page view, or within 30 s.')
  })
  document.getElementById('demo-spa')?.addEventListener('click', () => {
    // The tracker watches the history API and records this as a page view.
    history.pushState({}, '', '/demo/spa/step-2')
    document.title = 'Acme Demo: Step 2'
    const heading = document.getElementById('demo-heading')
    const text = document.getElementById('demo-text')
    if (heading) heading.textContent = 'Step 2'
    if (text)
      text.textContent = 'This page was reached with history.pushState, as a single-page app would.'
    say('Route changed without a page load.')
  })
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
else start()
