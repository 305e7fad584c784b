import fc from 'fast-check'
import { HOUR_MS } from '../core/calendar.ts'
import { FILTER_SESSION_DIMENSIONS, type Filter, filterText } from '../core/stats-filters.ts'
import {
  buildStatsQuery,
  PERIODS,
  StatsParamsSchema,
  type StatsQuery,
} from '../core/stats-query.ts'
import {
  type ColumnarPart,
  columnarPart,
  Dictionaries,
  mergeParts,
} from '../record/columnar-record.ts'
import { type FilteredStatsReport, filteredReport } from '../record/filtered-report.ts'
import { readWindow } from '../record/period-window.ts'
import { BASE, PAGES, PROP_KEYS, recordWorld, TYPES, VALUES, ZONES } from './record-world.ts'

/**
 * Random cases for the columnar report's property tests (record/columnar-report.test.ts,
 * record/scan-pool.test.ts): a world of the record (record-world.ts), a query over it with
 * every filter dimension and operator alone and combined, properties, the previous period,
 * and the sessions split over several parts (closed days and an open tail) or merged; with
 * the object engine's report of the same sessions, the reference.
 */

const MINUTE_MS = 60_000

const filterArb: fc.Arbitrary<Filter> = fc
  .tuple(
    fc.constantFrom(
      ...FILTER_SESSION_DIMENSIONS,
      'page',
      'event',
      ...PROP_KEYS.map((k) => `prop.${k}`),
    ),
    fc.constantFrom('is' as const, 'is_not' as const, 'contains' as const),
    fc.nat(),
  )
  .map(([dim, op, n]) => {
    const values =
      dim === 'page' || dim === 'entry_page' || dim === 'exit_page'
        ? [...PAGES, '/nowhere']
        : dim === 'event'
          ? [...TYPES, 'purchase']
          : dim.startsWith('prop.')
            ? ['pro', 'free', '7', '7.5', 'true', 'PRO', 'nothing']
            : [...(VALUES[dim] as string[]).filter(Boolean), 'none']
    const value = values[n % values.length] as string
    const text = op === 'contains' ? value.slice(0, 1 + (n % Math.max(1, value.length))) : value
    return {
      dim,
      op,
      value: text.toLowerCase() === text ? text : n % 2 ? text.toUpperCase() : text,
    } as Filter
  })

export const columnarCaseArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  zone: fc.constantFrom(...ZONES),
  period: fc.constantFrom(...PERIODS.filter((p) => p !== 'custom'), 'custom'),
  nowOffset: fc.integer({ min: 0, max: 3 * 24 * 60 }),
  filters: fc.array(filterArb, { maxLength: 3 }),
  props: fc.option(fc.constantFrom(...PROP_KEYS, 'absent'), { nil: undefined }),
  compare: fc.boolean(),
  limit: fc.constantFrom(3, 10),
  parts: fc.integer({ min: 1, max: 3 }),
  merge: fc.boolean(),
})

export type ColumnarCaseParams = typeof columnarCaseArb extends fc.Arbitrary<infer T> ? T : never

export interface ColumnarCase {
  dicts: Dictionaries
  parts: ColumnarPart[]
  query: StatsQuery
  recordSince: number | null
  /** filteredReport over the same sessions as objects. */
  expected: FilteredStatsReport
}

export function columnarCase(q: ColumnarCaseParams): ColumnarCase {
  const span = q.period === '90d' || q.period === '12mo' ? 40 * 24 * HOUR_MS : 10 * 24 * HOUR_MS
  const sessions = recordWorld(q.seed, span)
  const now = BASE + q.nowOffset * MINUTE_MS
  const params = StatsParamsSchema.parse({
    site: 'site',
    period: q.period,
    ...(q.period === 'custom' ? { from: '2026-03-14', to: '2026-03-19' } : {}),
    ...(q.compare ? { compare: 'previous' } : {}),
    limit: q.limit,
    filter: q.filters.map(filterText),
    ...(q.props ? { props: q.props } : {}),
  })
  const query = buildStatsQuery(params, q.zone, now)
  const overlapping = (period: typeof query.current) => {
    const w = readWindow(period, query.timezone)
    return sessions.filter((s) => s.start_time <= w.to && s.end_time >= w.from)
  }
  const recordSince = sessions.some((s) => s.events === null) ? BASE : null
  const expected = filteredReport({
    current: overlapping(query.current),
    previous: query.previous ? overlapping(query.previous) : null,
    query,
    recordSince,
  })
  // The sessions over parts as the cache holds them: split by their end (closed days,
  // the open tail), some parts merged.
  const dicts = new Dictionaries(q.zone)
  const cut = [...sessions].map((s) => s.end_time).sort((a, b) => a - b)
  let parts: ColumnarPart[] = []
  let from = 0
  for (let p = 1; p <= q.parts; p++) {
    const to = p === q.parts ? cut.length : Math.floor((cut.length * p) / q.parts)
    const bound = cut[to - 1] ?? 0
    const lower = from === 0 ? -Infinity : (cut[from - 1] as number)
    parts.push(
      columnarPart(
        dicts,
        sessions.filter((s) => s.end_time > lower && s.end_time <= bound),
      ),
    )
    from = to
  }
  if (q.merge && parts.length > 1) {
    parts = [mergeParts(parts[0] as ColumnarPart, parts[1] as ColumnarPart), ...parts.slice(2)]
  }
  return { dicts, parts, query, recordSince, expected }
}
