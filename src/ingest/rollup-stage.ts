import type { Logger } from '../log/logger.ts'
import type { Store } from '../storage/store.ts'
import { type RollupOptions, rollUpQueued } from './commit-events.ts'

/**
 * Runs the roll-up (stage 2) in the background of one process. A roll-up commit rewrites
 * every counter page it touches, which costs about the same for 10 events as for 1,000, so
 * it runs at most every `intervalMs` over everything queued meanwhile, in slices, yielding
 * to the event loop between slices so requests keep being answered. A failed slice stays
 * queued and is retried on the next run. The live view does not wait for this: it is fed
 * when events are accepted.
 */
export class RollupStage {
  private running: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly options: RollupOptions,
    private readonly logger: Logger,
    private readonly intervalMs = 500,
    private readonly sliceSize = 5000,
  ) {}

  /** Something was queued: make sure a run is scheduled. */
  poke(): void {
    if (this.timer || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.start()
    }, this.intervalMs)
    this.timer.unref()
  }

  /** Rolls up everything queued so far, now; resolves when done (or a slice failed). */
  async settle(): Promise<void> {
    while (this.running) await this.running
    await this.start()
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private start(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async run(): Promise<void> {
    for (;;) {
      let taken: number
      try {
        taken = await rollUpQueued(this.store, this.options, this.sliceSize)
      } catch (error) {
        this.logger.error({ err: error }, 'roll-up failed; the queue is kept and retried')
        this.poke()
        return
      }
      if (taken < this.sliceSize) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}
