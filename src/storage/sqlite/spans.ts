/**
 * Span rollups: pre-summed blocks of 2, 4, 8 … buckets, aligned to multiples of their size,
 * so a breakdown over a long range reads a few rows per value instead of one per bucket.
 * A 30-day top-pages table reads about 6 rows per page instead of 30 (a dyadic
 * decomposition of the range), and 90 days or 12 months barely more.
 *
 * Spans are built once their last bucket is closed (a later bucket has data) and are kept
 * exact afterwards: a late delta for a closed bucket is added to every span that holds it.
 * The usable spans of a (site, grain) are those inside its window [origin, through]: built
 * from `origin` on, complete up to `through`.
 */

export type Grain = 'hour' | 'day'

/** Largest span level per grain: 2^8 = 256 days; 2^4 = 16 hours (hour rows serve ≤ 48 h). */
export const MAX_LEVEL: Record<Grain, number> = { day: 8, hour: 4 }

export interface SpanWindow {
  /** First bucket spans were built from; no span starting earlier is used. */
  origin: number
  /** Last closed bucket: spans ending here or earlier are built. */
  through: number
}

export interface SpanRef {
  level: number
  start: number
}

export interface Decomposition {
  spans: SpanRef[]
  /** Inclusive bucket ranges read from the base table (the edges, and what is still open). */
  ranges: Array<[number, number]>
}

const DAY_MS = 86_400_000

/** A bucket as a number: hours are already epoch hours, days become epoch-day numbers. */
export function bucketNumber(grain: Grain, bucket: number | string): number {
  if (grain === 'hour') return Number(bucket)
  return Date.parse(`${bucket}T00:00:00Z`) / DAY_MS
}

/** The base table's bucket for a number: the epoch hour, or the "YYYY-MM-DD" day. */
export function bucketValue(grain: Grain, n: number): number | string {
  if (grain === 'hour') return n
  return new Date(n * DAY_MS).toISOString().slice(0, 10)
}

function usable(level: number, start: number, window: SpanWindow): boolean {
  return start >= window.origin && start + 2 ** level - 1 <= window.through
}

/**
 * The fewest usable spans plus base ranges that exactly cover [from, to]: at each step the
 * largest aligned span that fits, else one base bucket.
 */
export function decompose(
  from: number,
  to: number,
  window: SpanWindow | undefined,
  maxLevel: number,
): Decomposition {
  const spans: SpanRef[] = []
  const ranges: Array<[number, number]> = []
  let open: number | null = null
  let n = from
  while (n <= to) {
    let level = 0
    if (window) {
      for (let l = maxLevel; l >= 1; l--) {
        const size = 2 ** l
        if (n % size === 0 && n + size - 1 <= to && usable(l, n, window)) {
          level = l
          break
        }
      }
    }
    if (level === 0) {
      open ??= n
      n++
      continue
    }
    if (open !== null) ranges.push([open, n - 1])
    open = null
    spans.push({ level, start: n })
    n += 2 ** level
  }
  if (open !== null) ranges.push([open, to])
  return { spans, ranges }
}

/** The usable spans that hold bucket `n`: where a late delta must also be added. */
export function spansHolding(n: number, window: SpanWindow, maxLevel: number): SpanRef[] {
  const out: SpanRef[] = []
  for (let level = 1; level <= maxLevel; level++) {
    const start = n - (n % 2 ** level)
    if (usable(level, start, window)) out.push({ level, start })
  }
  return out
}

/**
 * The spans that bucket `n` completes, smallest first (each is built from the two halves
 * below it), and only those that start at or after `origin`.
 */
export function spansEndingAt(n: number, origin: number, maxLevel: number): SpanRef[] {
  const out: SpanRef[] = []
  for (let level = 1; level <= maxLevel; level++) {
    const size = 2 ** level
    if ((n + 1) % size !== 0) break
    const start = n + 1 - size
    if (start >= origin) out.push({ level, start })
  }
  return out
}
