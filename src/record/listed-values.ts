import type { Counters } from '../core/types.ts'
import { BREAKDOWNS } from '../queries/breakdowns.ts'

/**
 * Which values of a dimension some table of the report can list (the columnar report's
 * `tallied`): a table shows its first `limit` rows by its counter, most first, ties by value,
 * of the values with any of its counters above 0 (filtered-report.ts, `tables`). Building a
 * row object for each of a dimension's values (2,000 pages, 2,000 entry pages) only to sort
 * and drop all but ten made most of a fast report's garbage, and the garbage its collector's
 * pauses. A value can be among a table's first `limit` only when its counter is at least the
 * `limit`-th largest among those values: the values marked here are those, for every table
 * over the dimension, ties included, so the tables built from them are the same.
 */
type Shown = Partial<Record<keyof Counters, ArrayLike<number>>>

const TABLES = Object.values(BREAKDOWNS).map((def) => ({
  dim: def.dim as string,
  orderBy: def.orderBy as keyof Counters,
  counters: def.counters as ReadonlyArray<keyof Counters>,
}))

/** Per value number below `size`: 1 when a table over `dim` can list it within `limit` rows. */
export function listedValues(
  dim: string,
  counters: Shown,
  size: number,
  limit: number,
): Uint8Array {
  const listed = new Uint8Array(size)
  for (const table of TABLES) {
    if (table.dim !== dim) continue
    const order = counters[table.orderBy]
    const shown: Array<ArrayLike<number>> = []
    for (const name of table.counters) {
      const column = counters[name]
      if (column) shown.push(column)
    }
    const counts = new Float64Array(size)
    const qualifies = new Uint8Array(size)
    let n = 0
    for (let v = 0; v < size; v++) {
      let any = false
      for (const column of shown) if ((column[v] as number) > 0) any = true
      if (!any) continue
      qualifies[v] = 1
      counts[n++] = order ? (order[v] as number) : 0
    }
    const sorted = counts.subarray(0, n).sort()
    // The limit-th largest count: no value below it is among the first `limit`.
    const least = n > limit ? (sorted[n - limit] as number) : Number.NEGATIVE_INFINITY
    for (let v = 0; v < size; v++) {
      if (qualifies[v] === 1 && (order ? (order[v] as number) : 0) >= least) listed[v] = 1
    }
  }
  return listed
}
