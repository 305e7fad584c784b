import { AcceptStage } from '../accept/accept-stage.ts'
import type { AcceptRequest } from '../accept/prepare-request.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import type { Logger } from '../log/logger.ts'
import { rollupOptions } from '../rollup/rollup-options.ts'
import { RollupStage, type StageClock } from '../rollup/rollup-stage.ts'
import type { Store, SweepPolicy, SweepResult } from '../storage/store.ts'
import type { Pipeline } from './pipeline.ts'

export interface InProcessOptions {
  sessionTimeoutMs: number
  logger: Logger
  /** How often the background roll-up runs (see RollupStage); 500 ms by default. */
  rollupIntervalMs?: number
  rollupClock?: StageClock
}

/**
 * The pipeline with no threads: the accept stage and the roll-up stage of any Store on the
 * caller's thread. The same pieces as the embedded server's worker threads, so a second
 * backend runs the whole service by implementing Store alone; the tests run the service
 * through it, and the Lambda handlers will.
 */
export class InProcessPipeline implements Pipeline {
  private readonly accepting: AcceptStage
  private readonly rollups: RollupStage

  constructor(
    private readonly store: Store,
    options: InProcessOptions,
  ) {
    this.rollups = new RollupStage(store, rollupOptions(options.sessionTimeoutMs), options.logger, {
      ...(options.rollupIntervalMs === undefined ? {} : { intervalMs: options.rollupIntervalMs }),
      ...(options.rollupClock ? { clock: options.rollupClock } : {}),
    })
    const rollups = this.rollups
    this.accepting = new AcceptStage(store, {
      logger: options.logger,
      // In the same process the roll-up takes each commit from memory, where the store can.
      handOver: (handover) => {
        store.takeHandover?.(handover)
      },
    })
    // Whatever an earlier run accepted and did not roll up (a crash, a restart).
    rollups.poke()
  }

  async accept(request: AcceptRequest) {
    const [outcome] = await this.accepting.accept([request])
    this.rollups.poke()
    return outcome ?? { error: 'no answer for a request' }
  }

  liveSnapshot(siteId: string, now: number): Promise<RealtimeSnapshot> {
    return this.accepting.snapshot(siteId, now)
  }

  async settle(): Promise<void> {
    await this.accepting.drain()
    await this.rollups.settle()
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.store.sweep(policy)
  }

  async close(): Promise<void> {
    await this.settle()
    this.rollups.close()
  }
}
