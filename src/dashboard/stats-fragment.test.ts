import { describe, expect, it } from 'vitest'
import { BREAKDOWNS, type BreakdownName, type Breakdowns } from '../queries/breakdowns.ts'
import type { LaggedStatsReport } from '../queries/stats-report.ts'
import { renderStatsFragment } from './stats-fragment.ts'
import { renderStatsPanel } from './stats-panel.ts'

const tables = {} as Breakdowns
for (const name of Object.keys(BREAKDOWNS) as BreakdownName[]) tables[name] = []
const report: LaggedStatsReport = {
  ...tables,
  site: 'site-a',
  period: '7d',
  timezone: 'UTC',
  filter: null,
  filters: [],
  filter_applies_to: [],
  summary: {
    pageviews: { value: 12_345, previous: 10_000, change: 0.2345 },
    visitors: { value: 321, previous: 0, change: null },
    sessions: { value: 400 },
    bounce_rate: { value: 0.4567 },
    avg_session_duration_s: { value: 65.4 },
    pages_per_session: { value: 3.1 },
  },
  timeseries: {
    labels: [],
    datasets: [
      { label: 'Pageviews', data: [] },
      { label: 'Visitors', data: [] },
    ],
  },
  rollup_lag_s: 0,
  uncounted: null,
}

/** What a view shows of a summary card as text: its label, value and change, tags aside. */
function cardText(view: string, metric: string): string {
  const start = view.indexOf(`data-metric="${metric}"`)
  // A card runs to the tag of the next card, or to the first table after the last one.
  const next = view.indexOf('data-metric="', start + 1)
  const ends = [next >= 0 ? view.lastIndexOf('<', next) : -1, view.indexOf('<section', start)]
  const card = view.slice(view.indexOf('>', start) + 1, Math.min(...ends.filter((i) => i >= 0)))
  return card
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

describe('the /api/stats HTML fragment', () => {
  it("names and formats the summary as the dashboard page's stats panel does", () => {
    const fragment = renderStatsFragment(report).html
    const panel = renderStatsPanel({ siteId: 'site-a', period: '7d', filters: [], report }).html
    expect(cardText(fragment, 'pageviews')).toBe('Pageviews 12,345 +23%')
    expect(cardText(fragment, 'visitors')).toBe('Visitors 321 new')
    expect(cardText(fragment, 'sessions')).toBe('Visits 400')
    expect(cardText(fragment, 'bounce_rate')).toBe('Bounce rate 46%')
    expect(cardText(fragment, 'avg_session_duration_s')).toBe('Visit duration 1m 5s')
    for (const metric of Object.keys(report.summary)) {
      expect(cardText(fragment, metric)).toBe(cardText(panel, metric))
    }
  })

  it('says counts are incomplete, and since when in the site’s time, while events are set aside', () => {
    expect(renderStatsFragment(report).html).not.toContain('incomplete')
    const missing: LaggedStatsReport = {
      ...report,
      timezone: 'Asia/Seoul',
      uncounted: { items: 3, since: Date.UTC(2026, 0, 15, 20, 5) },
    }
    const notice =
      'Counts are incomplete since 16 Jan 2026, 05:05: 3 events could not be counted and are kept aside to be replayed'
    expect(renderStatsFragment(missing).html).toContain(notice)
    const panel = renderStatsPanel({
      siteId: 'site-a',
      period: '7d',
      filters: [],
      report: missing,
    })
    expect(panel.html).toContain(notice)
    expect(panel.html).toContain('data-uncounted="3"')
  })

  it('shows invisible characters of pages and event names escaped, as the panel does', () => {
    const sent: LaggedStatsReport = {
      ...report,
      top_pages: [{ page_url: '/a%E2%80%AEb', pageviews: 2, visitors: 1 }],
      events: [{ name: 'sign\u202Eup', events: 3, visitors: 1 }],
    }
    const fragment = renderStatsFragment(sent).html
    const panel = renderStatsPanel({ siteId: 'site-a', period: '7d', filters: [], report: sent })
    for (const view of [fragment, panel.html]) {
      expect(view).toContain('/a\\u202Eb')
      expect(view).toContain('sign\\u202Eup')
      expect(view).not.toContain('\u202E')
    }
  })
})

describe('the stats panel', () => {
  it('shows hostnames, UTM terms and contents and screen sizes as tables', () => {
    const row = (key: string, value: string, visitors: number) => ({
      [key]: value,
      visitors,
      sessions: visitors,
      bounce_rate: 0,
    })
    const view = renderStatsPanel({
      siteId: 'site-a',
      period: '7d',
      filters: [],
      report: {
        ...report,
        hostnames: [row('hostname', 'docs.example.com', 7)],
        utm_terms: [row('utm_term', 'red shoes', 5)],
        utm_contents: [row('utm_content', 'hero', 4)],
        screens: [row('screen', 'mobile', 3), row('screen', 'desktop', 2)],
      },
    }).html
    /** Each table by its caption, as text: its rows' labels and visitors. */
    const tableText = (caption: string) => {
      const start = view.indexOf(`<caption class="mb-2 text-left font-semibold">${caption}<`)
      expect(start, caption).toBeGreaterThanOrEqual(0)
      const body = view.slice(view.indexOf('<tbody>', start), view.indexOf('</tbody>', start))
      return body
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
    }
    expect(tableText('Hostnames')).toBe('docs.example.com 7')
    expect(tableText('UTM terms')).toBe('red shoes 5')
    expect(tableText('UTM contents')).toBe('hero 4')
    expect(tableText('Screen sizes')).toBe('mobile 3 desktop 2')
  })
})
