import { describe, expect, it } from 'vitest'
import { type Filter, parseFilter } from '../core/stats-filters.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { BREAKDOWNS, type BreakdownName, type Breakdowns } from '../queries/breakdowns.ts'
import { renderLivePanel } from './live-panel.ts'
import type { PanelReport } from './panel-report.ts'
import { renderStatsPanel, type StatsView } from './stats-panel.ts'
import { dashboardHref } from './view-href.ts'

const empty = {} as Breakdowns
for (const name of Object.keys(BREAKDOWNS) as BreakdownName[]) empty[name] = []
const base: PanelReport = {
  ...empty,
  site: 'site-a',
  period: '7d',
  timezone: 'UTC',
  filter: null,
  filters: [],
  filter_applies_to: [],
  summary: {
    pageviews: { value: 1 },
    visitors: { value: 1 },
    sessions: { value: 1 },
    bounce_rate: { value: 0 },
    avg_session_duration_s: { value: 0 },
    pages_per_session: { value: 1 },
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

const session = (key: string, value: string) => ({
  [key]: value,
  visitors: 3,
  sessions: 3,
  bounce_rate: 0,
})

const unescape = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')

/** Every link of some HTML: its href read back as a view, and its text. */
function links(markup: string) {
  return [...markup.matchAll(/<a [^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/g)].map(
    ([, href, text]) => {
      const q = new URL(unescape(href ?? ''), 'https://x').searchParams
      return {
        text: unescape((text ?? '').replace(/<[^>]+>/g, '')).trim(),
        site: q.get('site'),
        period: q.get('period'),
        props: q.get('props'),
        filters: q.getAll('filter').map(parseFilter),
      }
    },
  )
}

const ALREADY: Filter = { dim: 'device', op: 'is_not', value: 'mobile' }

function view(report: Partial<PanelReport>, more: Partial<StatsView> = {}): string {
  return renderStatsPanel({
    siteId: 'site-a',
    period: '30d',
    filters: [ALREADY],
    report: { ...base, ...report },
    ...more,
  }).html
}

describe('dashboardHref', () => {
  it('puts the period, every filter and the property in the URL, read back as they were', () => {
    const filters: Filter[] = [
      { dim: 'page', op: 'contains', value: '/blog?x=1&y' },
      { dim: 'prop.plan', op: 'is', value: 'a:b' },
    ]
    const [read] = links(
      `<a href="${dashboardHref({ siteId: 's', period: '7d', filters, props: 'plan' })}">x</a>`,
    )
    expect(read).toEqual({ text: 'x', site: 's', period: '7d', props: 'plan', filters })
  })
})

describe('the stats panel with filters', () => {
  it('links every table row to the view with that filter added', () => {
    const tables: Array<[BreakdownName, Record<string, string | number>, Filter]> = [
      [
        'top_pages',
        { page_url: '/pricing', pageviews: 4, visitors: 2 },
        { dim: 'page', op: 'is', value: '/pricing' },
      ],
      [
        'entry_pages',
        { page_url: '/in', entries: 2, visitors: 2, bounce_rate: 0 },
        { dim: 'entry_page', op: 'is', value: '/in' },
      ],
      ['exit_pages', { page_url: '/out', exits: 2 }, { dim: 'exit_page', op: 'is', value: '/out' }],
      ['sources', session('source', 'Google'), { dim: 'source', op: 'is', value: 'Google' }],
      ['channels', session('channel', 'search'), { dim: 'channel', op: 'is', value: 'search' }],
      ['utm_sources', session('utm_source', 'nl'), { dim: 'utm_source', op: 'is', value: 'nl' }],
      [
        'utm_mediums',
        session('utm_medium', 'email'),
        { dim: 'utm_medium', op: 'is', value: 'email' },
      ],
      [
        'utm_campaigns',
        session('utm_campaign', 'spring'),
        { dim: 'utm_campaign', op: 'is', value: 'spring' },
      ],
      ['utm_terms', session('utm_term', 'shoes'), { dim: 'utm_term', op: 'is', value: 'shoes' }],
      [
        'utm_contents',
        session('utm_content', 'hero'),
        { dim: 'utm_content', op: 'is', value: 'hero' },
      ],
      [
        'hostnames',
        session('hostname', 'docs.example.com'),
        { dim: 'hostname', op: 'is', value: 'docs.example.com' },
      ],
      ['browsers', session('browser', 'Firefox'), { dim: 'browser', op: 'is', value: 'Firefox' }],
      ['os', session('os', 'Linux'), { dim: 'os', op: 'is', value: 'Linux' }],
      ['devices', session('device', 'tablet'), { dim: 'device', op: 'is', value: 'tablet' }],
      ['screens', session('screen', 'laptop'), { dim: 'screen', op: 'is', value: 'laptop' }],
      [
        'countries',
        { country: 'KR', country_name: 'South Korea', visitors: 2, sessions: 2 },
        { dim: 'country', op: 'is', value: 'KR' },
      ],
      [
        'events',
        { name: 'signup', events: 2, visitors: 1 },
        { dim: 'event', op: 'is', value: 'signup' },
      ],
    ]
    const report: Partial<PanelReport> = {}
    for (const [name, row] of tables) report[name] = [row]
    const found = links(view(report))
    for (const [name, , filter] of tables) {
      const link = found.find(
        (l) => l.filters.length === 2 && JSON.stringify(l.filters[1]) === JSON.stringify(filter),
      )
      expect(link, name).toBeDefined()
      expect(link?.filters[0]).toEqual(ALREADY)
      expect(link?.period).toBe('30d')
    }
    // Countries by name, filtered by code.
    const korea = found.find(
      (l) => JSON.stringify(l.filters[1]) === JSON.stringify(tables[15]?.[2]),
    )
    expect(korea?.text).toBe('South Korea')
  })

  it('leaves a row without a value unlinked, and adds no filter twice', () => {
    const markup = view({
      countries: [{ country: '', country_name: 'Unknown', visitors: 1, sessions: 1 }],
      devices: [session('device', 'mobile')],
    })
    expect(links(markup).some((l) => l.text === 'Unknown')).toBe(false)
    const device = links(markup).find((l) => l.text === 'mobile')
    expect(device?.filters).toEqual([ALREADY, { dim: 'device', op: 'is', value: 'mobile' }])
    const again = renderStatsPanel({
      siteId: 'site-a',
      period: '30d',
      filters: [{ dim: 'device', op: 'is', value: 'mobile' }],
      report: { ...base, devices: [session('device', 'mobile')] },
    }).html
    expect(links(again).find((l) => l.text === 'mobile')?.filters).toHaveLength(1)
  })

  it('shows each filter as a chip that removes it, and no "summary and chart only" banner', () => {
    const filters: Filter[] = [
      { dim: 'country', op: 'is', value: 'DE' },
      { dim: 'page', op: 'contains', value: '/blog' },
      { dim: 'prop.plan', op: 'is_not', value: 'free' },
    ]
    const markup = view({}, { filters })
    const text = markup.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')
    expect(text).toContain('Country is Germany')
    expect(text).toContain('Page contains /blog')
    expect(text).toContain('Property plan is not free')
    expect(text).not.toContain('summary and chart only')
    expect(text).toContain('the live panel above is not')
    for (const filter of filters) {
      const remove = links(markup).find(
        (l) =>
          l.text === '×' && !l.filters.some((f) => JSON.stringify(f) === JSON.stringify(filter)),
      )
      expect(remove?.filters).toEqual(filters.filter((f) => f !== filter))
    }
    expect(links(markup).find((l) => l.text === 'Clear filters')?.filters).toEqual([])
    // The period picker keeps the filters.
    const kept = [...markup.matchAll(/<input type="hidden" name="filter" value="([^"]*)">/g)]
    expect(kept.map(([, v]) => parseFilter(unescape(v ?? '')))).toEqual(filters)
  })

  it('shows a filter value’s invisible characters escaped', () => {
    const markup = view({}, { filters: [{ dim: 'event', op: 'is', value: 'sign\u202Eup' }] })
    // Shown escaped; the form's hidden field and the links keep the value as it is.
    const shown = markup.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')
    expect(shown).toContain('Event is sign\\u202Eup')
    expect(shown).not.toContain('\u202E')
  })

  it('says when page, event and property filters cannot count the whole period', () => {
    expect(view({ record_partial: false, record_since: 0 })).not.toContain('data-record-since')
    const partial = view({ record_partial: true, record_since: Date.UTC(2026, 2, 1, 12) })
    expect(partial).toContain('count only from 1 Mar 2026')
  })
})

describe('the properties panel', () => {
  const report: Partial<PanelReport> = {
    prop_keys: ['plan', 'a:b'],
    props: { plan: [{ value: 'pro', events: 5, visitors: 3 }] },
  }

  it('asks for the keys after the page when the report knows no properties (the counters)', () => {
    const panel = view({})
    expect(panel).toContain('data-panel="properties"')
    expect(panel).toContain('hx-get="/properties?site=site-a&amp;period=30d"')
    expect(panel).toContain('hx-trigger="load"')
  })

  it('lists the keys, each a link to its breakdown, keeping the filters', () => {
    const keyLinks = links(view(report)).filter((l) => l.props)
    expect(keyLinks.map((l) => [l.text, l.props])).toEqual([
      ['plan', 'plan'],
      ['a:b', 'a:b'],
    ])
    expect(keyLinks[0]?.filters).toEqual([ALREADY])
  })

  it('breaks the chosen key down, each value a link filtering by it', () => {
    const markup = view(report, { props: 'plan' })
    const value = links(markup).find((l) => l.text === 'pro')
    expect(value?.filters).toEqual([ALREADY, { dim: 'prop.plan', op: 'is', value: 'pro' }])
    expect(value?.props).toBe('plan')
    const start = markup.indexOf('>pro</a>') + 1
    const row = markup.slice(start, markup.indexOf('</tr>', start))
    expect(
      row
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    ).toBe('pro 3 5')
  })

  it('shows a key with a colon unlinked: the filter grammar cannot name it', () => {
    const markup = view(
      { ...report, props: { 'a:b': [{ value: 'x', events: 1, visitors: 1 }] } },
      { props: 'a:b' },
    )
    expect(markup).toContain('>x</span>')
    expect(links(markup).some((l) => l.text === 'x')).toBe(false)
  })
})

describe('the live panel', () => {
  it('says filters do not apply to it', () => {
    const snapshot = {
      active_visitors: 0,
      pages: [],
      recent_events: [],
      pageviews_per_minute: [],
      approximate: false,
    } as unknown as RealtimeSnapshot
    expect(renderLivePanel('site-a', snapshot).html).toContain('filters below do not apply here')
  })
})
