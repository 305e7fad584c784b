import { FoldState } from '../../fold/fold-state.ts'
import type { SiteFold } from '../../fold/site-fold.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import { type RollupEntry, StorageUnavailableError } from '../store.ts'
import type { FoldSegments } from './fold-segments.ts'

/** Writers a site may meet at once before one gives up and its batch is delivered again. */
const FENCE_ATTEMPTS = 5

/**
 * How far behind the clock the memory is pruned: entries are normally handed over seconds
 * after they arrived, so keeping an hour more spares a rebuild for every late batch.
 */
const PRUNE_LAG_MS = 3_600_000

/** What this process holds of a site: its last stored window, and what arrivals it serves. */
interface Held {
  seq: number
  /** The memory holds what every entry arriving at this time or later needs. */
  servesFrom: number
}

/**
 * Counts entries into a site's next stored window, exactly once (fold-segments.ts): the fold
 * of one process over the sites it is handed. Several may count one site at once (the
 * shards of a stream, a batch delivered again): each replays the windows others stored
 * since its own before it counts, and a window refused under a taken number is taken back
 * from memory and counted again. Its memory of a site is rebuilt from the stored windows
 * when it has none, or holds too little for an entry that arrived long ago (a replay).
 */
export class FoldWriter {
  private readonly state: FoldState
  private readonly held = new Map<string, Held>()

  constructor(
    private readonly segments: FoldSegments,
    private readonly options: RollupOptions,
    private readonly now: () => number,
  ) {
    this.state = new FoldState(options.sessionTimeoutMs)
  }

  /**
   * Counts what of `entries` (all of one site) is not counted yet and stores it as the
   * site's next window. `oldestArrival`: when the earliest of them was accepted. Returns how
   * many it counted, and the window it stored (none when all were counted before).
   */
  async count(
    siteId: string,
    entries: readonly RollupEntry[],
    oldestArrival: number,
  ): Promise<{ counted: number; window?: { seq: number; fold: SiteFold } }> {
    for (let attempt = 1; ; attempt++) {
      const held = await this.hold(siteId, oldestArrival)
      await this.catchUp(siteId, held)
      const site = this.state.site(siteId)
      site.begin()
      let counted: number
      try {
        counted = await rollUpBatch(this.state, entries, this.options)
      } catch (error) {
        site.rollback()
        this.state.takeSite(siteId)
        throw error
      }
      const fold = this.state.takeSite(siteId)
      if (!fold) {
        site.commit()
        return { counted }
      }
      if (await this.segments.append(siteId, held.seq + 1, fold)) {
        site.commit()
        held.seq += 1
        this.prune(siteId, held)
        return { counted, window: { seq: held.seq, fold } }
      }
      // Another writer stored this number first (another shard's batch of the site, or a
      // delivery of these entries again): take the window back, catch up, count again.
      site.rollback()
      if (attempt >= FENCE_ATTEMPTS) {
        throw new StorageUnavailableError(
          `fold: ${siteId}'s window ${held.seq + 1} was taken ${attempt} times by other writers`,
        )
      }
    }
  }

  /** Replays what other writers stored after the memory's last window. */
  private async catchUp(siteId: string, held: Held): Promise<void> {
    for (const segment of await this.segments.after(siteId, held.seq)) {
      this.state.replay(segment.fold)
      held.seq = segment.seq
    }
  }

  /** Forgets a site (its stored windows are read again when it is next counted). */
  drop(siteId: string): void {
    this.state.forget(siteId)
    this.held.delete(siteId)
  }

  private async hold(siteId: string, oldestArrival: number): Promise<Held> {
    const held = this.held.get(siteId)
    if (held && held.servesFrom <= oldestArrival) return held
    this.drop(siteId)
    const { last, segments } = await this.segments.since(
      siteId,
      oldestArrival - this.state.limits.longestMs,
    )
    for (const segment of segments) this.state.replay(segment.fold)
    const fresh = { seq: last, servesFrom: oldestArrival }
    this.held.set(siteId, fresh)
    return fresh
  }

  /** Keeps what entries arriving from now on need, and no more. */
  private prune(siteId: string, held: Held): void {
    const from = this.now() - PRUNE_LAG_MS
    // Pruning walks the site's memory: at most every tenth of the lag.
    if (from <= held.servesFrom + PRUNE_LAG_MS / 10) return
    this.state.site(siteId).prune(from, this.state.limits)
    held.servesFrom = from
  }
}
