import { zeroCounters } from '../core/rollup-deltas.ts'
import { COUNTER_NAMES, type RollupDelta } from '../core/types.ts'
import type { RollupRange, RollupRow } from '../storage/store.ts'

/**
 * The counter rows of a range, summed from the deltas of folded windows (site-fold.ts) in any
 * order: a row's counters are the sum of every delta to it, as the SQLite store's rows are
 * the sum of every unit's upserts. Rows are in the order the SQLite store reads them (bucket,
 * then value as UTF-8 bytes), each with its site; rows that net to zero are left out, as no
 * reader tells them from a missing row.
 */
export function foldedRows(deltas: Iterable<RollupDelta>, range: RollupRange): RollupRow[] {
  const sums = new Map<string, RollupRow & { site_id: string }>()
  for (const { key, counters } of deltas) {
    if (key.site_id !== range.site_id || key.grain !== range.grain || key.dim !== range.dim)
      continue
    if (key.bucket < range.from || key.bucket > range.to) continue
    if (range.value !== undefined && key.value !== range.value) continue
    const id = `${key.bucket}\u001f${key.value}`
    let row = sums.get(id)
    if (!row) {
      row = {
        site_id: key.site_id,
        bucket: key.bucket,
        dim: key.dim,
        value: key.value,
        ...zeroCounters(),
      }
      sums.set(id, row)
    }
    for (const name of COUNTER_NAMES) row[name] += counters[name]
  }
  return [...sums.values()]
    .filter((row) => COUNTER_NAMES.some((name) => row[name] !== 0))
    .sort(
      (a, b) =>
        (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) ||
        Buffer.compare(Buffer.from(a.value), Buffer.from(b.value)),
    )
}
