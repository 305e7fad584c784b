import type { RollupProgress } from '../storage/store.ts'

/**
 * How far the counters trail ingestion, in whole seconds: from when the oldest item still
 * waiting for the roll-up was accepted until `now`; 0 when nothing waits. The roll-up runs
 * every 500 ms, so anything above a second means it is falling behind (a flood, or an item it
 * keeps failing on). Read per request and never cached with the counters: a cached stats
 * answer is reused while the counters stay unchanged, which is just when a stuck roll-up's
 * lag grows.
 */
export async function rollupLagSeconds(
  store: Pick<RollupProgress, 'oldestPendingAcceptedAt'>,
  now: number,
): Promise<number> {
  const acceptedAt = await store.oldestPendingAcceptedAt()
  if (acceptedAt === null) return 0
  // Another clock (a worker thread's) may run a little ahead of `now`: never a negative lag.
  return Math.max(0, Math.floor((now - acceptedAt) / 1000))
}
