import type { BotHit, EnrichedEvent } from '../core/types.ts'
import { rollUpPending } from '../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../rollup/rollup-options.ts'
import type { Intake, RollupQueue } from '../storage/store.ts'

export type EventOutcome = 'stored' | 'duplicate'

/**
 * Both stages at once over already enriched events: accept, then roll up until nothing is
 * pending. For tests and benchmarks that want the counters settled when the call returns.
 */
export async function acceptAndRollUp(
  store: Pick<Intake, 'accept'> & RollupQueue,
  events: readonly EnrichedEvent[],
  bots: readonly BotHit[],
  options: RollupOptions,
): Promise<{ outcomes: EventOutcome[] }> {
  const { fresh, handover } = await store.accept(events, bots)
  if (handover) store.takeHandover?.(handover)
  // One slice for the whole batch: a loader's 50,000 events become one roll-up commit.
  const slice = Math.max(2000, events.length + bots.length)
  while ((await rollUpPending(store, options, slice)) > 0) {}
  return { outcomes: fresh.map((isNew) => (isNew ? 'stored' : 'duplicate')) }
}
