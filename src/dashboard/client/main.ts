import { initCharts } from './charts.ts'
import { initControls } from './controls.ts'
import { initLive } from './live.ts'

/** The dashboard's only script of its own (the CSP allows no inline code). */
function start(): void {
  initCharts(document)
  initControls()
  initLive()
  // htmx swapped in a new stats panel (period, filter): draw its chart.
  document.addEventListener('htmx:load', (event) => {
    if (event.target instanceof Element) initCharts(event.target)
  })
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
else start()
