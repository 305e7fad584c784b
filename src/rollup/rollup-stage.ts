import { errorMessage } from '../core/error-message.ts'
import type { Logger } from '../log/logger.ts'
import { type RollupQueue, StorageUnavailableError } from '../storage/store.ts'
import { rollUpBatch, rollUpPending } from './roll-up-batch.ts'
import type { RollupOptions } from './rollup-options.ts'

const FAILURES_BEFORE_ISOLATING = 3

/** How a stage waits between runs; injected by tests, which step time themselves. */
export interface StageClock {
  now(): number
  /** Calls `run` after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void
}

const REAL_CLOCK: StageClock = {
  now: Date.now,
  after(ms, run) {
    const timer = setTimeout(run, ms)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

/**
 * The pulled roll-up in the background of one process, over any Store: a roll-up commit
 * rewrites every counter page it touches, which costs about the same for 10 events as for
 * 1,000, so it runs at most every `intervalMs` over everything pending meanwhile, in slices,
 * yielding to the event loop between slices so requests keep being answered. A failed slice
 * stays pending and is retried on the next run. The live view does not wait for this: it is
 * fed when events are accepted.
 */
export class RollupStage {
  private running: Promise<void> | null = null
  /** Failed runs in a row; at FAILURES_BEFORE_ISOLATING the failing item is looked for. */
  private failures = 0
  private cancelTimer: (() => void) | null = null
  private closed = false
  /** When the last run started: runs start at most every intervalMs, counted start to start. */
  private lastStart = Number.NEGATIVE_INFINITY
  /** Poked while a run was going: run again once it is done. */
  private pokedWhileRunning = false
  /** Runs failed in a row because storage was unavailable (logged at the first and the end). */
  private unavailable = 0

  private readonly intervalMs: number
  private readonly sliceSize: number
  private readonly clock: StageClock

  constructor(
    private readonly store: RollupQueue,
    private readonly options: RollupOptions,
    private readonly logger: Logger,
    tuning: { intervalMs?: number; sliceSize?: number; clock?: StageClock } = {},
  ) {
    this.intervalMs = tuning.intervalMs ?? 500
    this.sliceSize = tuning.sliceSize ?? 5000
    this.clock = tuning.clock ?? REAL_CLOCK
  }

  /**
   * Something was accepted: make sure a run is scheduled, intervalMs after the last one
   * started. Counting from the start (not from when the last run ended, or from the poke)
   * keeps the backlog at one interval's worth of events when a run takes most of an
   * interval: the other way, each wait added to a long run, the next run had more to do, and
   * the backlog held in memory kept growing.
   */
  poke(): void {
    if (this.closed) return
    if (this.running) {
      this.pokedWhileRunning = true
      return
    }
    if (this.cancelTimer) return
    const wait = Math.max(0, this.lastStart + this.intervalMs - this.clock.now())
    this.cancelTimer = this.clock.after(
      // Never longer than an interval, even if the clock was set back since the last start.
      Math.min(wait, this.intervalMs),
      () => {
        this.cancelTimer = null
        void this.start(false)
      },
    )
  }

  /**
   * Rolls up everything pending, now; resolves once nothing is pending (or a slice failed,
   * which the log and the next run take care of).
   */
  async settle(): Promise<void> {
    while (this.running) await this.running
    await this.start(true)
  }

  close(): void {
    this.closed = true
    this.cancelTimer?.()
    this.cancelTimer = null
  }

  private start(untilEmpty: boolean): Promise<void> {
    if (!this.running) {
      this.lastStart = this.clock.now()
      this.pokedWhileRunning = false
      this.running = this.run(untilEmpty).finally(() => {
        this.running = null
        if (this.pokedWhileRunning) this.poke()
      })
    }
    return this.running
  }

  /**
   * A slice that keeps failing (one malformed item, a bug hit by one event) would stop every
   * counter for good. Rolls the slice up one item at a time instead; the first item that
   * fails on its own is moved to the dead letters, and the rest go on.
   */
  private async isolateFailing(): Promise<void> {
    for (let i = 0; i < this.sliceSize; i++) {
      const [oldest] = await this.store.pending(1)
      if (!oldest) return
      try {
        await rollUpBatch(this.store, [oldest], this.options)
      } catch (error) {
        // Not this item's fault: it stays pending, and the next run retries.
        if (error instanceof StorageUnavailableError) throw error
        const reason = errorMessage(error)
        await this.store.deadLetter(oldest, reason, this.clock.now())
        this.logger.error(
          { stream: oldest.stream, position: oldest.position, reason },
          'roll-up: item moved to the dead letters',
        )
        return
      }
    }
  }

  /**
   * Slice after slice while slices come full; `untilEmpty` (settle) goes on until a slice
   * finds nothing pending, as memory may have held only part of what waits. A timed run stops
   * at the first short slice: under steady load another slice at once would hold only what
   * arrived meanwhile, and many small commits cost far more than one per interval.
   */
  private async run(untilEmpty: boolean): Promise<void> {
    for (;;) {
      let taken: number
      try {
        taken = await rollUpPending(this.store, this.options, this.sliceSize)
        this.failures = 0
        this.storageBack()
      } catch (error) {
        if (error instanceof StorageUnavailableError) {
          // Every item would fail alike: none is isolated, the run is retried until it clears.
          this.storageUnavailable(error)
          this.poke()
          return
        }
        this.failures++
        this.logger.error({ err: error }, 'roll-up failed; the items stay pending and are retried')
        if (this.failures >= FAILURES_BEFORE_ISOLATING) {
          this.failures = 0
          await this.isolateFailing().catch((isolating: unknown) => {
            if (isolating instanceof StorageUnavailableError) this.storageUnavailable(isolating)
            else
              this.logger.error({ err: isolating }, 'roll-up: looking for the failing item failed')
          })
        }
        this.poke()
        return
      }
      if (taken === 0 || (!untilEmpty && taken < this.sliceSize)) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /**
   * Logged when it starts and when it ends, not at every retry: a full disk lasting an hour
   * would otherwise write a log line every interval, onto the same full disk.
   */
  private storageUnavailable(error: StorageUnavailableError): void {
    if (this.unavailable++ === 0) {
      this.logger.error(
        { err: error },
        'roll-up: storage unavailable; the items stay pending and are retried until it clears',
      )
    }
  }

  private storageBack(): void {
    if (this.unavailable === 0) return
    this.logger.info({ failedRuns: this.unavailable }, 'roll-up: storage available again')
    this.unavailable = 0
  }
}
