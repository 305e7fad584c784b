import { randomBytes } from 'node:crypto'
import type { BotHit, EnrichedEvent } from '../core/types.ts'
import type { Logger } from '../log/logger.ts'
import type { Store, SweepPolicy, SweepResult } from '../storage/store.ts'
import type { RollupOptions } from './commit-events.ts'
import { RollupStage } from './rollup-stage.ts'

/**
 * Where the collector's writes go: stage 1 (accept) on the request path, stage 2 (roll-up)
 * in the background, and the retention sweep. One implementation runs them on the calling
 * thread; the embedded server runs them on a writer thread (writer-thread.ts) so commits,
 * fsyncs and roll-ups never stall the thread that answers HTTP.
 */
export interface EventWriter {
  /** Durably stores new events and bot hits; per event, whether it was new. */
  accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<boolean[]>
  /** Resolves once everything accepted so far is rolled up into sessions and counters. */
  settle(): Promise<void>
  sweep(policy: SweepPolicy): Promise<SweepResult>
  /** Rolls up what is queued, then stops; the store itself is closed by its owner. */
  close(): Promise<void>
}

export function rollupOptions(sessionTimeoutMs: number): RollupOptions {
  return {
    sessionTimeoutMs,
    // Time first, so new sessions append to the table instead of landing on random pages.
    newSessionId: () =>
      `${Date.now().toString(36).padStart(9, '0')}${randomBytes(9).toString('base64url')}`,
  }
}

/** Accept, roll-up and sweep on this thread, over the given store. */
export class InProcessWriter implements EventWriter {
  private readonly rollups: RollupStage

  constructor(
    private readonly store: Store,
    sessionTimeoutMs: number,
    logger: Logger,
  ) {
    this.rollups = new RollupStage(store, rollupOptions(sessionTimeoutMs), logger)
    // Whatever a previous run accepted but did not roll up yet (a crash, a restart).
    this.rollups.poke()
  }

  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<boolean[]> {
    const fresh = await this.store.accept(events, bots)
    this.rollups.poke()
    return fresh
  }

  settle(): Promise<void> {
    return this.rollups.settle()
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.store.sweep(policy)
  }

  async close(): Promise<void> {
    await this.rollups.settle()
    this.rollups.close()
  }
}
