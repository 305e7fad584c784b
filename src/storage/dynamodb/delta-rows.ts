import { zeroCounters } from '../../core/rollup-deltas.ts'
import { COUNTER_NAMES, type Counters, type RollupDelta, type RollupKey } from '../../core/types.ts'

/**
 * Counter deltas as the fold's items store them (its windows, its counter summaries): one
 * array per row, `[0 hour | 1 day, bucket, dim, value, ...counters in COUNTER_NAMES order]`,
 * without the site (the item's key holds it). Arrays, not objects: a window or a day's
 * summary holds hundreds of rows, and the names would be most of its bytes.
 */
export type DeltaRow = [0 | 1, number | string, string, string, ...number[]]

export function deltaRow({ key, counters }: RollupDelta): DeltaRow {
  return [
    key.grain === 'hour' ? 0 : 1,
    key.bucket,
    key.dim,
    key.value,
    ...COUNTER_NAMES.map((name) => counters[name]),
  ]
}

/** A row of a site's counters, keyed as the roll-up keys it (hour buckets are numbers). */
export function rowKey(
  siteId: string,
  grain: 'hour' | 'day',
  bucket: number | string,
  dim: string,
  value: string,
): RollupKey {
  return grain === 'hour'
    ? { grain, site_id: siteId, bucket: Number(bucket), dim, value }
    : { grain, site_id: siteId, bucket: String(bucket), dim, value }
}

/** Counters from the named fields of anything that has them (missing ones 0). */
export function countersOf(from: Partial<Record<keyof Counters, number>>): Counters {
  const counters = zeroCounters()
  for (const name of COUNTER_NAMES) counters[name] = from[name] ?? 0
  return counters
}

export function deltaOfRow(
  siteId: string,
  [grain, bucket, dim, value, ...numbers]: DeltaRow,
): RollupDelta {
  const counters = zeroCounters()
  COUNTER_NAMES.forEach((name, i) => {
    counters[name] = numbers[i] ?? 0
  })
  return { key: rowKey(siteId, grain === 0 ? 'hour' : 'day', bucket, dim, value), counters }
}
