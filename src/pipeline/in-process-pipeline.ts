import { AcceptStage } from '../accept/accept-stage.ts'
import type { AcceptRequest } from '../accept/prepare-request.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { StoredLiveEvents } from '../live/stored-live-events.ts'
import { storedSnapshot } from '../live/stored-snapshot.ts'
import type { Logger } from '../log/logger.ts'
import { rollupOptions } from '../rollup/rollup-options.ts'
import { RollupStage, type StageClock } from '../rollup/rollup-stage.ts'
import type {
  Intake,
  RecentEvents,
  RollupQueue,
  SweepPolicy,
  SweepResult,
  Upkeep,
} from '../storage/store.ts'
import type { Pipeline } from './pipeline.ts'

export interface InProcessOptions {
  sessionTimeoutMs: number
  logger: Logger
  liveBudgetEntries?: number
  /** How often the background roll-up runs (see RollupStage); 500 ms by default. */
  rollupIntervalMs?: number
  rollupClock?: StageClock
  /**
   * Where live snapshots come from: `kept` (the default), the window the accept stage keeps,
   * fed by this process's commits; `stored`, read from the store per snapshot, for a host
   * whose instances each see only part of the traffic (Lambda containers).
   */
  live?: 'kept' | 'stored'
  /**
   * Whether this host rolls up (the default) or only accepts, for a host where the roll-up
   * runs elsewhere (the collector Lambda; the stream's roll-up Lambda counts). One roll-up per
   * store: two pulling the same pending items would count them twice.
   */
  rollUp?: boolean
}

/**
 * The pipeline with no threads: the accept stage and the roll-up stage of any Store on the
 * caller's thread. The same pieces as the embedded server's worker threads, so a second
 * backend runs the whole service by implementing Store alone; the tests run the service
 * through it, and the Lambda handlers will.
 */
export class InProcessPipeline implements Pipeline {
  private readonly accepting: AcceptStage
  private readonly rollups: RollupStage | undefined
  /** The store's live events as this process last read them; none when the window is kept. */
  private readonly stored: StoredLiveEvents | undefined

  constructor(
    private readonly store: Intake & RecentEvents & RollupQueue & Pick<Upkeep, 'sweep'>,
    options: InProcessOptions,
  ) {
    this.stored = options.live === 'stored' ? new StoredLiveEvents(store) : undefined
    const rollups =
      options.rollUp === false
        ? undefined
        : new RollupStage(store, rollupOptions(options.sessionTimeoutMs), options.logger, {
            ...(options.rollupIntervalMs === undefined
              ? {}
              : { intervalMs: options.rollupIntervalMs }),
            ...(options.rollupClock ? { clock: options.rollupClock } : {}),
          })
    this.rollups = rollups
    this.accepting = new AcceptStage(store, {
      logger: options.logger,
      ...(options.liveBudgetEntries === undefined
        ? {}
        : { liveBudgetEntries: options.liveBudgetEntries }),
      // In the same process the roll-up takes each commit from memory, where the store can.
      ...(rollups
        ? {
            handOver: (handover) => {
              store.takeHandover?.(handover)
            },
          }
        : {}),
    })
    // Whatever an earlier run accepted and did not roll up (a crash, a restart).
    rollups?.poke()
  }

  async accept(request: AcceptRequest) {
    const [outcome] = await this.accepting.accept([request])
    this.rollups?.poke()
    return outcome ?? { error: 'no answer for a request' }
  }

  liveSnapshot(siteId: string, now: number): Promise<RealtimeSnapshot> {
    if (this.stored) return storedSnapshot(this.stored, siteId, now)
    return this.accepting.snapshot(siteId, now)
  }

  async settle(): Promise<void> {
    await this.accepting.drain()
    await this.rollups?.settle()
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.store.sweep(policy)
  }

  async close(): Promise<void> {
    await this.settle()
    this.rollups?.close()
  }
}
