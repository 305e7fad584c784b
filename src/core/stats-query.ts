import { z } from 'zod'
import { addDays, daysBetween, HOUR_MS, hourBucket, localDay, startOfLocalDay } from './calendar.ts'
import { type Filter, FiltersParamSchema, MAX_FILTERS } from './stats-filters.ts'

/**
 * A stats request, parsed once into a typed query (as Plausible does), then run by the
 * query functions. Periods resolve against the site's time zone and an injected clock.
 */
export const PERIODS = ['today', 'yesterday', '24h', '7d', '30d', '90d', '12mo', 'custom'] as const
export type Period = (typeof PERIODS)[number]

const DAY_PERIODS: Record<string, number> = { '7d': 7, '30d': 30, '90d': 90, '12mo': 365 }
/** Longest custom range: two years of daily points. */
const MAX_CUSTOM_DAYS = 731

/** The last day a custom period may touch (see `date`). */
const LAST_DAY = '9998-12-31'

const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' })
  // A day the calendar has: Date.parse reads 2026-02-30 as March 2, after a `to` of March 1
  // that the text comparison below lets through, and an empty range failed the store's read.
  .refine(
    (value) => {
      const ms = Date.parse(`${value}T00:00:00Z`)
      return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(value)
    },
    { error: 'is not a real date' },
  )
  // The chart counts days up to the day after `to` in YYYY-MM-DD text, and that text ends at
  // 9999-12-31: a later `to` would have no next day to stop at. Text order is day order here.
  .refine((value) => value <= LAST_DAY, { error: `must be ${LAST_DAY} or earlier` })

export const StatsParamsSchema = z
  .object({
    site: z.string().min(1, { error: 'site is required' }),
    period: z.enum(PERIODS).default('30d'),
    from: date.optional(),
    to: date.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(10),
    compare: z.enum(['previous']).optional(),
    /** Repeated: all must hold (stats-filters.ts). */
    filter: FiltersParamSchema.meta({
      description: `DIM:VALUE (is), DIM!:VALUE (is not) or DIM~:TEXT (contains, ignoring case); repeat it, at most ${MAX_FILTERS}, for filters that must all hold (see the description above)`,
    }),
    /** A custom property's key: its top values come back in `props`. */
    props: z.string().min(1).max(200).optional().meta({
      description: "A custom property's key: its top values come back in data.props[KEY]",
    }),
  })
  .refine((p) => p.period !== 'custom' || (p.from !== undefined && p.to !== undefined), {
    error: 'custom period needs from and to',
    path: ['from'],
  })
  .refine((p) => !p.from || !p.to || p.from <= p.to, {
    error: 'from must not be after to',
    path: ['to'],
  })
  .refine((p) => !p.from || !p.to || daysBetween(p.from, p.to) < MAX_CUSTOM_DAYS, {
    error: `custom ranges span at most ${MAX_CUSTOM_DAYS} days`,
    path: ['to'],
  })

export type StatsParams = z.infer<typeof StatsParamsSchema>

/** The stats parameters that may be repeated (http/query-params.ts reads every repeat). */
export const STATS_LIST_PARAMS = ['filter'] as const

/** Inclusive ranges of rollup buckets. */
export type BucketRange =
  | { grain: 'hour'; from: number; to: number }
  | { grain: 'day'; from: string; to: string }

export interface ResolvedPeriod {
  /** Where the summary and the breakdowns read (day rows for whole local days). */
  totals: BucketRange
  /** The chart's points: hourly for periods up to 48 h, daily beyond. */
  series: BucketRange
}

/** The one filter the counters answer (summary and chart only): see `counterFilter`. */
export interface StatsFilter {
  dim: 'page' | 'source'
  value: string
}

export interface StatsQuery {
  site_id: string
  timezone: string
  period: Period
  current: ResolvedPeriod
  previous: ResolvedPeriod | null
  limit: number
  /** Every filter asked for; all must hold. The record answers them (record/filtered-report.ts). */
  filters: Filter[]
  /** The custom property whose values are broken down, or null. */
  props: string | null
  /**
   * `filters` when the counters can answer them as they always did: one `page:` or `source:`
   * filter, narrowing the summary and chart only. Kept so a store without the record (and
   * the route until it reads the record) answers today's links as before; null otherwise.
   */
  filter: StatsFilter | null
}

function counterFilter(filters: readonly Filter[]): StatsFilter | null {
  const [only] = filters
  if (filters.length !== 1 || !only || only.op !== 'is') return null
  return only.dim === 'page' || only.dim === 'source' ? { dim: only.dim, value: only.value } : null
}

function hoursOfDays(from: string, to: string, timeZone: string): BucketRange {
  return {
    grain: 'hour',
    from: hourBucket(startOfLocalDay(from, timeZone)),
    to: hourBucket(startOfLocalDay(addDays(to, 1), timeZone) - HOUR_MS),
  }
}

/** Whole local days: totals from day rows; chart hourly when at most two days. */
function wholeDays(from: string, to: string, timeZone: string): ResolvedPeriod {
  const totals: BucketRange = { grain: 'day', from, to }
  const series = daysBetween(from, to) < 2 ? hoursOfDays(from, to, timeZone) : totals
  return { totals, series }
}

function rollingHours(lastHour: number, count: number): ResolvedPeriod {
  const range: BucketRange = { grain: 'hour', from: lastHour - count + 1, to: lastHour }
  return { totals: range, series: range }
}

function resolve(params: StatsParams, timeZone: string, now: number) {
  const today = localDay(now, timeZone)
  const days = (from: string, to: string) => {
    const span = daysBetween(from, to) + 1
    return {
      current: wholeDays(from, to, timeZone),
      previous: wholeDays(addDays(from, -span), addDays(to, -span), timeZone),
    }
  }
  switch (params.period) {
    case 'today':
      return days(today, today)
    case 'yesterday':
      return days(addDays(today, -1), addDays(today, -1))
    case '24h': {
      const hour = hourBucket(now)
      return { current: rollingHours(hour, 24), previous: rollingHours(hour - 24, 24) }
    }
    case 'custom':
      return days(params.from as string, params.to as string)
    default: {
      const n = DAY_PERIODS[params.period] as number
      return days(addDays(today, -(n - 1)), today)
    }
  }
}

export function buildStatsQuery(params: StatsParams, timeZone: string, now: number): StatsQuery {
  const { current, previous } = resolve(params, timeZone, now)
  return {
    site_id: params.site,
    timezone: timeZone,
    period: params.period,
    current,
    previous: params.compare === 'previous' ? previous : null,
    limit: params.limit,
    filters: params.filter,
    props: params.props ?? null,
    filter: counterFilter(params.filter),
  }
}
