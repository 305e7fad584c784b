import type Database from 'better-sqlite3'
import { DIMENSIONS } from '../../core/rollup-deltas.ts'
import { COUNTER_NAMES } from '../../core/types.ts'
import type { RollupRow, TopValuesQuery } from '../store.ts'
import type { CounterRow } from './counter-row.ts'
import {
  bucketNumber,
  bucketValue,
  decompose,
  type Grain,
  MAX_LEVEL,
  type SpanRef,
  type SpanWindow,
  spansEndingAt,
  spansHolding,
} from './spans.ts'

/** Dimensions that get spans; anything else is always read from the base rows. */
const SPAN_DIMENSIONS: ReadonlySet<string> = new Set(DIMENSIONS)
/** Hour spans start this far back when first built: older hourly dimension rows are swept. */
const HOUR_ORIGIN_BACK = 96

const COUNTERS = COUNTER_NAMES.join(', ')
const SUMS = COUNTER_NAMES.map((n) => `SUM(${n})`).join(', ')
const REPLACE_COUNTERS = COUNTER_NAMES.map((n) => `${n} = excluded.${n}`).join(', ')

/**
 * Builds, maintains and reads the span rollups of the SQLite store (see spans.ts). Every
 * write runs inside the store's roll-up transaction, after the base rows of the same deltas.
 */
export class SpanRollups {
  private readonly windows = new Map<string, SpanWindow | null>()
  private readonly topStatements = new Map<string, Database.Statement>()
  private readonly s

  constructor(private readonly db: Database.Database) {
    const fromBase = (grain: Grain) =>
      db.prepare(
        `INSERT INTO rollup_span (site_id, grain, level, start, dim, value, ${COUNTERS})
         SELECT site_id, '${grain}', 1, @start, dim, value, ${SUMS} FROM rollup_${grain}
         WHERE site_id = @site AND dim = @dim AND bucket BETWEEN @from AND @to
         GROUP BY value
         ON CONFLICT DO UPDATE SET ${REPLACE_COUNTERS}`,
      )
    this.s = {
      window: db.prepare('SELECT origin, through FROM span_window WHERE site_id = ? AND grain = ?'),
      putWindow: db.prepare(
        `INSERT INTO span_window (site_id, grain, origin, through) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET origin = excluded.origin, through = excluded.through`,
      ),
      firstBucket: {
        day: db
          .prepare("SELECT min(bucket) FROM rollup_day WHERE site_id = ? AND dim = ''")
          .pluck(),
        hour: db
          .prepare("SELECT min(bucket) FROM rollup_hour WHERE site_id = ? AND dim = ''")
          .pluck(),
      },
      fromBase: { day: fromBase('day'), hour: fromBase('hour') },
      fromHalves: db.prepare(
        `INSERT INTO rollup_span (site_id, grain, level, start, dim, value, ${COUNTERS})
         SELECT site_id, grain, @level, @start, dim, value, ${SUMS} FROM rollup_span
         WHERE site_id = @site AND grain = @grain AND level = @level - 1
           AND start IN (@start, @start + (1 << (@level - 1)))
         GROUP BY dim, value
         ON CONFLICT DO UPDATE SET ${REPLACE_COUNTERS}`,
      ),
      add: db.prepare(
        `INSERT INTO rollup_span (site_id, grain, level, start, dim, value, ${COUNTERS})
         VALUES (@site_id, @grain, @level, @start, @dim, @value,
                 ${COUNTER_NAMES.map((n) => `@${n}`).join(', ')})
         ON CONFLICT DO UPDATE SET ${COUNTER_NAMES.map((n) => `${n} = ${n} + excluded.${n}`).join(', ')}`,
      ),
      sweepHourSpans: db.prepare(
        "DELETE FROM rollup_span WHERE site_id = ? AND grain = 'hour' AND level = ? AND start < ?",
      ),
      raiseHourOrigin: db.prepare(
        "UPDATE span_window SET origin = max(origin, ?) WHERE site_id = ? AND grain = 'hour'",
      ),
    }
  }

  /**
   * After a roll-up wrote `deltas` to the base rows: adds the late ones to the spans that
   * already hold their bucket, then builds the spans that the newest buckets have closed.
   */
  afterWrite(rows: readonly CounterRow[]): void {
    const newest = new Map<string, { site: string; grain: Grain; bucket: number }>()
    for (const row of rows) {
      const [grain, site_id, dim, bucket, value, ...counters] = row
      const n = bucketNumber(grain, bucket)
      const key = `${site_id}\u001f${grain}`
      const seen = newest.get(key)
      if (!seen) newest.set(key, { site: site_id, grain, bucket: n })
      else if (n > seen.bucket) seen.bucket = n
      if (dim === '' || !SPAN_DIMENSIONS.has(dim)) continue
      const window = this.windowOf(site_id, grain)
      if (!window || n > window.through) continue
      const named = Object.fromEntries(COUNTER_NAMES.map((name, i) => [name, counters[i]]))
      for (const span of spansHolding(n, window, MAX_LEVEL[grain])) {
        this.s.add.run({ site_id, grain, dim, value, ...named, ...span })
      }
    }
    // A bucket is closed once a later one has data; anything later for it is a late delta.
    for (const { site, grain, bucket } of newest.values()) this.close(site, grain, bucket - 1)
  }

  /** Builds every span ending in (through, closeThrough]. */
  private close(site: string, grain: Grain, closeThrough: number): void {
    let window = this.windowOf(site, grain)
    if (!window) {
      const first = this.s.firstBucket[grain].get(site) as number | string | null
      if (first === null) return
      let origin = bucketNumber(grain, first)
      if (grain === 'hour') origin = Math.max(origin, closeThrough - HOUR_ORIGIN_BACK)
      window = { origin, through: origin - 1 }
    }
    if (closeThrough <= window.through) return
    for (let n = window.through + 1; n <= closeThrough; n++) {
      for (const span of spansEndingAt(n, window.origin, MAX_LEVEL[grain])) {
        this.build(site, grain, span)
      }
    }
    window = { origin: window.origin, through: closeThrough }
    this.s.putWindow.run(site, grain, window.origin, window.through)
    this.windows.set(`${site}\u001f${grain}`, window)
  }

  private build(site: string, grain: Grain, span: SpanRef): void {
    if (span.level > 1) {
      this.s.fromHalves.run({ site, grain, level: span.level, start: span.start })
      return
    }
    const from = bucketValue(grain, span.start)
    const to = bucketValue(grain, span.start + 1)
    for (const dim of SPAN_DIMENSIONS) {
      this.s.fromBase[grain].run({ site, dim, from, to, start: span.start })
    }
  }

  private windowOf(site: string, grain: Grain): SpanWindow | undefined {
    const key = `${site}\u001f${grain}`
    if (!this.windows.has(key)) {
      this.windows.set(key, (this.s.window.get(site, grain) as SpanWindow | undefined) ?? null)
    }
    return this.windows.get(key) ?? undefined
  }

  /** A roll-up transaction rolled back: what was cached of the windows may be ahead. */
  forget(): void {
    this.windows.clear()
  }

  /** Hour spans go with the hourly dimension rows they were built from. */
  sweepHours(siteIds: readonly string[], beforeHour: number): number {
    let removed = 0
    for (const site of siteIds) {
      for (let level = 1; level <= MAX_LEVEL.hour; level++) {
        removed += this.s.sweepHourSpans.run(site, level, beforeHour).changes
      }
      this.s.raiseHourOrigin.run(beforeHour, site)
    }
    this.windows.clear()
    return removed
  }

  /**
   * A dimension summed per value over a range: usable spans plus the base rows of the edges,
   * in one grouped statement (one prepared statement per shape of the decomposition).
   */
  topValues(query: TopValuesQuery): RollupRow[] {
    const { grain } = query
    const window = SPAN_DIMENSIONS.has(query.dim)
      ? (this.s.window.get(query.site_id, grain) as SpanWindow | undefined)
      : undefined
    const parts = decompose(
      bucketNumber(grain, query.from),
      bucketNumber(grain, query.to),
      window,
      MAX_LEVEL[grain],
    )
    const wanted = query.counters ?? COUNTER_NAMES
    const key = `${grain}:${query.orderBy}:${wanted.join(',')}:${parts.spans.length}:${parts.ranges.length}`
    let statement = this.topStatements.get(key)
    if (!statement) {
      const read = wanted.join(', ')
      const pieces = [
        ...parts.spans.map(
          () =>
            `SELECT value, ${read} FROM rollup_span WHERE site_id = @site AND grain = @grain
             AND level = ? AND start = ? AND dim = @dim`,
        ),
        ...parts.ranges.map(
          () =>
            `SELECT value, ${read} FROM rollup_${grain}
             WHERE site_id = @site AND dim = @dim AND bucket BETWEEN ? AND ?`,
        ),
      ]
      const sums = COUNTER_NAMES.map((n) =>
        wanted.includes(n) ? `SUM(${n}) AS ${n}` : `0 AS ${n}`,
      ).join(', ')
      // Values whose counters net to zero (an exit page the visitor moved on from) are left out.
      statement = this.db.prepare(
        `SELECT '' AS bucket, @dim AS dim, value, ${sums}
         FROM (${pieces.join(' UNION ALL ')})
         GROUP BY value
         HAVING ${wanted.map((n) => `SUM(${n})`).join(' + ')} > 0
         ORDER BY SUM(${query.orderBy}) DESC, value LIMIT @limit`,
      )
      this.topStatements.set(key, statement)
    }
    const positional = [
      ...parts.spans.flatMap((s) => [s.level, s.start]),
      ...parts.ranges.flatMap(([a, b]) => [bucketValue(grain, a), bucketValue(grain, b)]),
    ]
    return statement.all(...positional, {
      site: query.site_id,
      grain,
      dim: query.dim,
      limit: query.limit,
    }) as RollupRow[]
  }
}
