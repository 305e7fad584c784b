/**
 * The traffic levels and how a month at each one arrives: the arrival curve over a day, the
 * roll-up batches it implies (the event source mapping's BatchSize and batching window from
 * infra/terraform, a stated shard count), cold starts, and interpolation between measured
 * batch sizes. Pure functions: test/aws-cost-model.test.ts holds their behaviour.
 */

export const MONTH_DAYS = 30
export const MONTH_SECONDS = MONTH_DAYS * 86_400

export interface Level {
  name: string
  events_per_month: number
  /** Dashboard use at this level: opens a month, and minutes of live view in each. */
  dashboard: { opens_per_month: number; live_minutes_per_open: number }
}

export const LEVELS: Level[] = [
  {
    name: '10k',
    events_per_month: 10_000,
    dashboard: { opens_per_month: 30, live_minutes_per_open: 2 },
  },
  {
    name: '1M',
    events_per_month: 1_000_000,
    dashboard: { opens_per_month: 300, live_minutes_per_open: 2 },
  },
  {
    name: '100M',
    events_per_month: 100_000_000,
    dashboard: { opens_per_month: 3_000, live_minutes_per_open: 5 },
  },
]

/**
 * Hourly weights over a day, averaging 1: a cosine with its peak at `peakHour` and
 * `amplitude` above and below the mean (0.6: the busiest hour carries 1.6 times the mean,
 * the quietest 0.4 times).
 */
export function arrivalWeights(amplitude: number, peakHour: number): number[] {
  return Array.from(
    { length: 24 },
    (_, h) => 1 + amplitude * Math.cos((2 * Math.PI * (h - peakHour)) / 24),
  )
}

/**
 * Records per roll-up batch when records arrive at `perShardPerSecond` on one shard: the
 * first record opens the batching window, those arriving during it join, up to BatchSize.
 */
export function recordsPerBatch(
  perShardPerSecond: number,
  windowSeconds: number,
  batchSize: number,
): number {
  return Math.min(batchSize, 1 + perShardPerSecond * windowSeconds)
}

export interface HourOfBatches {
  hour: number
  records_per_second: number
  records_per_batch: number
  /** Records and batches in this hour of the day over the whole month. */
  records: number
  batches: number
}

/** The month's roll-up batches, hour of the day by hour of the day. */
export function rollupBatches(
  recordsPerMonth: number,
  weights: number[],
  shards: number,
  windowSeconds: number,
  batchSize: number,
): HourOfBatches[] {
  const meanPerSecond = recordsPerMonth / MONTH_SECONDS
  return weights.map((w, hour) => {
    const recordsPerSecond = meanPerSecond * w
    const size = recordsPerBatch(recordsPerSecond / shards, windowSeconds, batchSize)
    const records = (recordsPerMonth / 24) * w
    return {
      hour,
      records_per_second: recordsPerSecond,
      records_per_batch: size,
      records,
      batches: records / size,
    }
  })
}

export interface ColdStartAssumptions {
  /** A container idle this long is reclaimed (not documented by AWS; observed 5-15 min). */
  idle_reclaim_s: number
  /** A busy container is still replaced about this often. */
  container_lifetime_s: number
}

/**
 * Cold starts in a month for a function invoked at `perSecondByHour` (Poisson arrivals, one
 * rate per hour of the day) for `durationS` each: an arrival after the last one more than
 * the idle reclaim time ago is cold (probability e^(-rate * idle)); while warm, each of the
 * containers busy at once (at least one) is replaced once per container lifetime.
 */
export function coldStartsPerMonth(
  perSecondByHour: number[],
  durationS: number,
  a: ColdStartAssumptions,
): number {
  let perDay = 0
  for (const rate of perSecondByHour) {
    if (rate <= 0) continue
    const idleGap = Math.exp(-rate * a.idle_reclaim_s)
    const containers = Math.max(1, rate * durationS)
    perDay += 3600 * rate * idleGap + ((1 - idleGap) * containers * 3600) / a.container_lifetime_s
  }
  return perDay * MONTH_DAYS
}

/** Cold starts in a month of a function run every `intervalS` seconds by a schedule. */
export function scheduledColdStartsPerMonth(intervalS: number, a: ColdStartAssumptions): number {
  const runs = MONTH_SECONDS / intervalS
  if (intervalS > a.idle_reclaim_s) return runs
  return Math.min(runs, MONTH_SECONDS / a.container_lifetime_s)
}

/**
 * Linear interpolation through measured points (sorted by x): below the first point its
 * value, past the last the last segment's slope.
 */
export function interpolate(points: { x: number; y: number }[], x: number): number {
  const sorted = [...points].sort((a, b) => a.x - b.x)
  const first = sorted[0]
  if (!first) throw new Error('interpolate: no points')
  if (sorted.length === 1 || x <= first.x) return first.y
  for (let i = 1; i < sorted.length; i++) {
    const lo = sorted[i - 1] as { x: number; y: number }
    const hi = sorted[i] as { x: number; y: number }
    if (x <= hi.x || i === sorted.length - 1) {
      return lo.y + ((hi.y - lo.y) * (x - lo.x)) / (hi.x - lo.x)
    }
  }
  return first.y
}

/** A least-squares line through (x, y) points: what a quantity costs at 0, and per x. */
export function fitLine(points: { x: number; y: number }[]): { fixed: number; per: number } {
  const n = points.length
  if (n === 0) return { fixed: 0, per: 0 }
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0)
  if (sxx === 0) return { fixed: my, per: 0 }
  const per = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx
  return { fixed: my - per * mx, per }
}

/** Batch sizes to measure so that every size the levels imply lies between two of them. */
export function sizesToMeasure(implied: number[], grid: number[]): number[] {
  const max = Math.max(1, ...implied)
  const top = grid.find((g) => g >= max) ?? Math.ceil(max)
  return [...new Set([...grid.filter((g) => g < top), top])].sort((a, b) => a - b)
}
