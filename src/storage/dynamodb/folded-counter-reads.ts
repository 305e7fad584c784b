import type { RollupDelta } from '../../core/types.ts'
import { foldedRows } from '../../fold/folded-counters.ts'
import {
  type CounterReads,
  checkTopValuesQuery,
  type RollupRange,
  type RollupRow,
  type TopValuesQuery,
} from '../store.ts'
import { type CounterSummaries, SUMMARY, type Summary } from './counter-summaries.ts'
import type { FoldSegments } from './fold-segments.ts'
import { hourlyDimensionsFrom } from './forgotten-events.ts'
import type { StoreContext } from './requests.ts'
import { topOf } from './top-values.ts'

/**
 * The stats queries' side over the fold (issue 23): a range's rows are its summaries' rows
 * plus the rows of windows not summed into them yet (counter-summaries.ts says why each
 * window is then counted once). Read per query: `through`, the summaries of the range's
 * days, and the windows after `through` (a few minutes' worth: the sweep sums them).
 */
export class FoldedCounterReads implements CounterReads {
  constructor(
    private readonly c: StoreContext,
    private readonly segments: FoldSegments,
    private readonly summaries: CounterSummaries,
  ) {}

  /** The site's last window: every change to its counters is a new window. */
  countersVersion(siteId: string): Promise<number> {
    return this.segments.last(siteId)
  }

  async readRollups(range: RollupRange): Promise<RollupRow[]> {
    const from = SUMMARY.sk({ grain: range.grain, bucket: range.from })
    const to = SUMMARY.sk({ grain: range.grain, bucket: range.to })
    const through = await this.summaries.through(range.site_id)
    const summaries = await this.summaries.read(range.site_id, from, to)
    const windows = await this.segments.after(range.site_id, through)
    const rows = foldedRows(deltasOf(summaries, windows), range)
    if (range.grain !== 'hour' || range.dim === '') return rows
    // Hours the sweep passed keep their site totals only, as the SQLite store's do.
    const kept = await hourlyDimensionsFrom(this.c)
    return rows.filter((row) => Number(row.bucket) >= kept)
  }

  async topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    checkTopValuesQuery(query, 'FoldedCounterReads.topValues')
    return topOf(await this.readRollups(query), query)
  }
}

/** Each summary's rows, and each window's rows where the window is newer than its summary. */
function* deltasOf(
  summaries: readonly Summary[],
  windows: ReadonlyArray<{ seq: number; fold: { deltas: { deltas(): RollupDelta[] } } }>,
): Generator<RollupDelta> {
  const through = new Map<string, number>()
  for (const summary of summaries) {
    through.set(summary.sk, summary.through)
    yield* summary.deltas
  }
  for (const window of windows) {
    for (const delta of window.fold.deltas.deltas()) {
      if (window.seq > (through.get(SUMMARY.sk(delta.key)) ?? 0)) yield delta
    }
  }
}
