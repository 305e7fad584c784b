import type { RollupProgress, RollupQueue, StreamPosition } from '../store.ts'

/**
 * The Events stream read from outside Lambda: what the local stand-in for the event source
 * mapping has not delivered yet (src/entry/aws/local-stream-backlog.ts, for the tests and
 * `npm run dev:aws`). The store answers `pending`, `backlog` and `oldestPendingAcceptedAt`
 * from it, and its sweep keeps every event still waiting on it.
 */
export interface PulledStream extends Pick<RollupProgress, 'backlog' | 'oldestPendingAcceptedAt'> {
  /** The oldest items not delivered yet, from the first shard that has any (RollupQueue). */
  pending: RollupQueue['pending']
  /** When the oldest item still waiting happened (its event time); null when nothing waits. */
  oldestPendingEventAt(): Promise<number | null>
  /**
   * A unit rolled up `pending`'s items through these positions: later calls start after
   * them. Only a place to read from: what is counted is the fold's business (fold-writer.ts),
   * so this is written after the unit and a lost write only delivers counted items again.
   */
  rolledUp(through: readonly StreamPosition[]): Promise<void>
}

/**
 * No stream read here. On Lambda the event source mapping reads the stream and keeps its own
 * place, so a backlog read here would count the stream's whole day on every stats request:
 * the roll-up's lag is what its batches record instead (rollup-lag.ts), and the function's
 * IteratorAge metric (alarm and dashboard in infra/terraform/monitoring.tf).
 */
export const NO_PULLED_STREAM: PulledStream = {
  pending: async () => [],
  backlog: async () => 0,
  oldestPendingAcceptedAt: async () => null,
  oldestPendingEventAt: async () => null,
  rolledUp: async () => {},
}
