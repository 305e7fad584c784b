import { errorMessage } from '../core/error-message.ts'
import type { Logger } from '../log/logger.ts'
import type { Store } from '../storage/store.ts'
import { type RollupOptions, rollUpQueued } from './commit-events.ts'
import type { HotQueue } from './hot-queue.ts'

const FAILURES_BEFORE_ISOLATING = 3

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
  /** Failed runs in a row; at FAILURES_BEFORE_ISOLATING the failing item is looked for. */
  private failures = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false
  /** When the last run started: runs start at most every intervalMs, counted start to start. */
  private lastStart = Number.NEGATIVE_INFINITY
  /** Poked while a run was going: run again once it is done. */
  private pokedWhileRunning = false

  private readonly intervalMs: number
  private readonly sliceSize: number
  /** What accepts in this process handed over in memory (see hot-queue.ts). */
  private readonly hot: HotQueue | undefined

  constructor(
    private readonly store: Store,
    private readonly options: RollupOptions,
    private readonly logger: Logger,
    tuning: { intervalMs?: number; sliceSize?: number; hot?: HotQueue } = {},
  ) {
    this.intervalMs = tuning.intervalMs ?? 500
    this.sliceSize = tuning.sliceSize ?? 5000
    this.hot = tuning.hot
  }

  /**
   * Something was queued: make sure a run is scheduled, intervalMs after the last one started.
   * Counting from the start (not from when the last run ended, or from the poke) keeps the
   * backlog at one interval's worth of events when a run takes most of an interval: the
   * other way, a run of 0.4 s under load was followed by 0.5 s of waiting, the next run had
   * twice the events, and the backlog held in memory grew to tens of thousands of events.
   */
  poke(): void {
    if (this.closed) return
    if (this.running) {
      this.pokedWhileRunning = true
      return
    }
    if (this.timer) return
    const wait = Math.max(0, this.lastStart + this.intervalMs - Date.now())
    this.timer = setTimeout(
      () => {
        this.timer = null
        void this.start()
      },
      // Never longer than an interval, even if the clock was set back since the last start.
      Math.min(wait, this.intervalMs),
    )
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
    if (!this.running) {
      this.lastStart = Date.now()
      this.pokedWhileRunning = false
      this.running = this.run().finally(() => {
        this.running = null
        if (this.pokedWhileRunning) this.poke()
      })
    }
    return this.running
  }

  /**
   * A slice that keeps failing (one malformed item, a bug hit by one event) would stop every
   * counter for good. Rolls the slice up one item at a time instead; the first item that
   * fails on its own is moved to the dead-letter table, and the rest go on.
   */
  private async isolateFailing(): Promise<void> {
    for (let i = 0; i < this.sliceSize; i++) {
      try {
        if ((await rollUpQueued(this.store, this.options, 1)) === 0) return
      } catch (error) {
        const [oldest] = await this.store.ingest((unit) => unit.queued(1))
        if (!oldest) return
        const reason = errorMessage(error)
        await this.store.deadLetter(oldest.seq, reason, Date.now())
        this.logger.error({ seq: oldest.seq, reason }, 'roll-up: item moved to the dead letters')
        return
      }
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      let taken: number
      try {
        taken = await rollUpQueued(this.store, this.options, this.sliceSize, this.hot)
        this.failures = 0
      } catch (error) {
        this.failures++
        this.logger.error({ err: error }, 'roll-up failed; the queue is kept and retried')
        if (this.failures >= FAILURES_BEFORE_ISOLATING) {
          this.failures = 0
          await this.isolateFailing().catch((isolating: unknown) =>
            this.logger.error({ err: isolating }, 'roll-up: looking for the failing item failed'),
          )
        }
        this.poke()
        return
      }
      if (taken < this.sliceSize) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}
