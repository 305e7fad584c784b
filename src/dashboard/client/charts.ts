import type { ChartConfiguration, Chart as ChartJs } from 'chart.js'

/** Chart.js is served as its own file (/assets/chart.umd.js) and sets a global. */
function chartJs(): typeof ChartJs | undefined {
  return (window as unknown as { Chart?: typeof ChartJs }).Chart
}

const dark = () => window.matchMedia('(prefers-color-scheme: dark)').matches
const COLORS = { pageviews: '#6366f1', visitors: '#10b981' }

function numbers(raw: string | undefined): number[] {
  try {
    const parsed: unknown = JSON.parse(raw ?? '[]')
    return Array.isArray(parsed) ? parsed.map(Number) : []
  } catch {
    return []
  }
}

function strings(raw: string | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(raw ?? '[]')
    return Array.isArray(parsed) ? parsed.map(String) : []
  } catch {
    return []
  }
}

/** "2026-03-11T09:00" → "09:00"; "2026-03-11" → "Mar 11". */
function shortLabel(label: string): string {
  if (label.includes('T')) return label.slice(11, 16)
  const date = new Date(`${label}T00:00:00Z`)
  if (Number.isNaN(date.getTime())) return label
  return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' })
}

function themed(): void {
  const Chart = chartJs()
  if (!Chart) return
  Chart.defaults.color = dark() ? '#cbd5e1' : '#334155'
  Chart.defaults.borderColor = dark() ? '#1e293b' : '#e2e8f0'
  Chart.defaults.maintainAspectRatio = false
}

function timeseriesConfig(canvas: HTMLCanvasElement): ChartConfiguration<'line'> {
  const labels = strings(canvas.dataset.labels).map(shortLabel)
  return {
    type: 'line',
    data: {
      labels,
      datasets: [
        {
          label: 'Pageviews',
          data: numbers(canvas.dataset.pageviews),
          borderColor: COLORS.pageviews,
          backgroundColor: COLORS.pageviews,
          tension: 0.25,
          pointRadius: 2,
        },
        {
          label: 'Visitors',
          data: numbers(canvas.dataset.visitors),
          borderColor: COLORS.visitors,
          backgroundColor: COLORS.visitors,
          tension: 0.25,
          pointRadius: 2,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  }
}

function liveConfig(canvas: HTMLCanvasElement): ChartConfiguration<'bar'> {
  const values = numbers(canvas.dataset.values)
  return {
    type: 'bar',
    data: {
      labels: values.map((_, i) =>
        i === values.length - 1 ? 'now' : `-${values.length - 1 - i}m`,
      ),
      datasets: [
        { label: 'Page views per minute', data: values, backgroundColor: COLORS.pageviews },
      ],
    },
    options: {
      animation: false,
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } },
      },
      plugins: { legend: { display: false } },
    },
  }
}

const charts = new Map<HTMLCanvasElement, ChartJs>()

/** Draws every chart canvas under `root` once; canvases swapped out by htmx are released. */
export function initCharts(root: ParentNode): void {
  const Chart = chartJs()
  if (!Chart) return
  themed()
  for (const [canvas, chart] of charts) {
    if (!canvas.isConnected) {
      chart.destroy()
      charts.delete(canvas)
    }
  }
  for (const canvas of root.querySelectorAll<HTMLCanvasElement>(
    'canvas[data-chart], canvas[data-live="chart"]',
  )) {
    if (charts.has(canvas)) continue
    const config =
      canvas.dataset.chart === 'timeseries' ? timeseriesConfig(canvas) : liveConfig(canvas)
    charts.set(canvas, new Chart(canvas, config as ChartConfiguration))
  }
}

/** Replaces the live chart's 30 per-minute values without animation. */
export function updateLiveChart(canvas: HTMLCanvasElement, values: number[]): void {
  const chart = charts.get(canvas)
  const dataset = chart?.data.datasets[0]
  if (!chart || !dataset) return
  dataset.data = values
  chart.update('none')
}
