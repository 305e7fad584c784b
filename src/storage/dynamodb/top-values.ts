import { COUNTER_NAMES } from '../../core/types.ts'
import type { RollupRow, TopValuesQuery } from '../store.ts'

/** A range's rows summed per value, largest first, as CounterReads.topValues answers. */
export function topOf(rows: readonly RollupRow[], query: TopValuesQuery): RollupRow[] {
  const sums = new Map<string, RollupRow>()
  for (const { site_id: _, ...row } of rows as Array<RollupRow & { site_id?: string }>) {
    const sum = sums.get(row.value)
    if (!sum) {
      sums.set(row.value, { ...row, bucket: '' })
      continue
    }
    for (const name of COUNTER_NAMES) sum[name] += row[name]
  }
  const wanted = query.counters ?? COUNTER_NAMES
  const out = [...sums.values()].filter((row) => {
    for (const name of COUNTER_NAMES) if (!wanted.includes(name)) row[name] = 0
    // Values whose counters net to zero (an exit page the visitor moved on from) are left out.
    return wanted.reduce((sum, name) => sum + row[name], 0) > 0
  })
  const by = query.orderBy
  return out
    .sort((a, b) => b[by] - a[by] || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, query.limit)
}
