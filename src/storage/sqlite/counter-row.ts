// The counter row alone: rollup-commit.ts makes it, span-rollups.ts reads it; only the first imports the second.
import type { RollupDelta } from '../../core/types.ts'

/** A counter delta as the upsert binds it: grain, then site, dim, bucket, value, counters. */
export type CounterRow = [
  RollupDelta['key']['grain'],
  string,
  string,
  number | string,
  string,
  ...number[],
]
