import type { Dimension } from '../core/rollup-deltas.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import type { CounterName, CounterReads, RollupRow } from '../storage/store.ts'

const bounceRate = (r: RollupRow) =>
  r.sessions ? Math.round((r.bounces / r.sessions) * 1e4) / 1e4 : 0

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' })
function countryName(code: string): string {
  if (!code) return 'Unknown'
  try {
    return regionNames.of(code) ?? code
  } catch {
    return code
  }
}

/** One table of the stats view: which dimension, ordered by what, shaped how. */
interface BreakdownDefinition {
  dim: Dimension
  orderBy: CounterName
  /** What `shape` reads; only these are summed. */
  counters: readonly CounterName[]
  shape: (row: RollupRow) => Record<string, string | number>
}

const VISITORS_AND_SESSIONS: readonly CounterName[] = ['visitors', 'sessions', 'bounces']
const visitorsAndSessions = (key: string) => (r: RollupRow) => ({
  [key]: r.value,
  visitors: r.visitors,
  sessions: r.sessions,
  bounce_rate: bounceRate(r),
})

export const BREAKDOWNS = {
  top_pages: {
    dim: 'page',
    orderBy: 'pageviews',
    counters: ['pageviews', 'visitors'],
    shape: (r) => ({ page_url: r.value, pageviews: r.pageviews, visitors: r.visitors }),
  },
  entry_pages: {
    dim: 'entry_page',
    orderBy: 'sessions',
    counters: ['sessions', 'visitors', 'bounces'],
    shape: (r) => ({
      page_url: r.value,
      entries: r.sessions,
      visitors: r.visitors,
      bounce_rate: bounceRate(r),
    }),
  },
  exit_pages: {
    dim: 'exit_page',
    orderBy: 'sessions',
    counters: ['sessions'],
    shape: (r) => ({ page_url: r.value, exits: r.sessions }),
  },
  sources: {
    dim: 'source',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('source'),
  },
  channels: {
    dim: 'channel',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('channel'),
  },
  utm_sources: {
    dim: 'utm_source',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('utm_source'),
  },
  utm_mediums: {
    dim: 'utm_medium',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('utm_medium'),
  },
  utm_campaigns: {
    dim: 'utm_campaign',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('utm_campaign'),
  },
  utm_terms: {
    dim: 'utm_term',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('utm_term'),
  },
  utm_contents: {
    dim: 'utm_content',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('utm_content'),
  },
  hostnames: {
    dim: 'hostname',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('hostname'),
  },
  browsers: {
    dim: 'browser',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('browser'),
  },
  os: {
    dim: 'os',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('os'),
  },
  devices: {
    dim: 'device',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('device'),
  },
  screens: {
    dim: 'screen',
    orderBy: 'visitors',
    counters: VISITORS_AND_SESSIONS,
    shape: visitorsAndSessions('screen'),
  },
  countries: {
    dim: 'country',
    orderBy: 'visitors',
    counters: ['visitors', 'sessions'],
    shape: (r) => ({
      country: r.value,
      country_name: countryName(r.value),
      visitors: r.visitors,
      sessions: r.sessions,
    }),
  },
  events: {
    dim: 'event',
    orderBy: 'events',
    counters: ['events', 'visitors'],
    shape: (r) => ({ name: r.value, events: r.events, visitors: r.visitors }),
  },
} satisfies Record<string, BreakdownDefinition>

export type BreakdownName = keyof typeof BREAKDOWNS
export type Breakdowns = Record<BreakdownName, Array<Record<string, string | number>>>

/**
 * Every table of the period, each one grouped query over rollup rows. Tables are site-wide:
 * a filter narrows the summary and the chart only, because rollups are one-dimensional
 * (pages × sources rows would be the next step).
 */
export async function breakdowns(store: CounterReads, query: StatsQuery): Promise<Breakdowns> {
  const range = query.current.totals
  const entries = await Promise.all(
    (Object.entries(BREAKDOWNS) as Array<[BreakdownName, BreakdownDefinition]>).map(
      async ([name, def]) => {
        const rows = await store.topValues({
          ...range,
          site_id: query.site_id,
          dim: def.dim,
          orderBy: def.orderBy,
          counters: def.counters,
          limit: query.limit,
        })
        return [name, rows.map(def.shape)] as const
      },
    ),
  )
  return Object.fromEntries(entries) as Breakdowns
}
