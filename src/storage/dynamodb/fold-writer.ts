import { FoldState, type UnitRun } from '../../fold/fold-state.ts'
import type { SiteFold } from '../../fold/site-fold.ts'
import { type RollupUnit, StorageUnavailableError } from '../store.ts'
import type { FoldSegments } from './fold-segments.ts'

/**
 * How long after an event a replay of it (`npm run replay:aws`) still counts it exactly
 * once: a writer handed it reads back the horizons' longest before it (fold-state.ts) from
 * the site's windows, which are kept SEGMENT_KEEP_MS; a test holds the two together.
 */
export const REPLAY_HORIZON_HOURS = 96

/** Writers a site may meet at once before one gives up and its batch is delivered again. */
const FENCE_ATTEMPTS = 5

/**
 * How far behind the clock the memory is pruned: entries are normally handed over seconds
 * after they arrived, so keeping an hour more spares a rebuild for every late batch.
 */
const PRUNE_LAG_MS = 3_600_000

/** A window a unit stored. */
export interface StoredWindow {
  siteId: string
  seq: number
  fold: SiteFold
}

export interface FoldRun<T> extends UnitRun<T> {
  windows: StoredWindow[]
  /** Every site the unit touched, with a window or without. */
  sites: string[]
}

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

  /** `sessionTimeoutMs`: the roll-up's, which sets how long a site's memory reaches back. */
  constructor(
    private readonly segments: FoldSegments,
    sessionTimeoutMs: number,
    private readonly now: () => number,
  ) {
    this.state = new FoldState(sessionTimeoutMs)
  }

  /**
   * Runs a roll-up unit over the fold's memory and stores what it changed of each site as
   * the site's next window. A site whose number another writer took is taken back, caught up,
   * and the unit run again: what it already counted is then counted (its `uncounted` says
   * so), what is left is counted now. Returns the unit's result, the windows stored, and
   * what the last run read and wrote.
   */
  async run<T>(
    work: (unit: RollupUnit) => Promise<T>,
    hourlyDimensionsFrom = Number.NEGATIVE_INFINITY,
    /** Called with each counted run before its windows are stored (readers see them then). */
    beforeStore?: (run: UnitRun<T>) => Promise<void>,
  ): Promise<FoldRun<T>> {
    const windows: StoredWindow[] = []
    const sites = new Set<string>()
    for (let attempt = 1; ; attempt++) {
      const touched: string[] = []
      this.state.beforeSite = async (siteId, from) => {
        const held = await this.hold(siteId, from)
        await this.catchUp(siteId, held)
        this.state.site(siteId).begin()
        touched.push(siteId)
        sites.add(siteId)
      }
      let run: UnitRun<T>
      try {
        run = await this.state.runUnit(work, hourlyDimensionsFrom)
      } catch (error) {
        this.takeBack(touched)
        throw error
      } finally {
        this.state.beforeSite = undefined
      }
      try {
        await beforeStore?.(run)
      } catch (error) {
        this.takeBack(touched)
        throw error
      }
      let refused = 0
      for (const [i, siteId] of touched.entries()) {
        const site = this.state.site(siteId)
        const fold = this.state.takeSite(siteId)
        const held = this.held.get(siteId)
        if (!fold || !held) {
          site.commit()
          continue
        }
        let stored: boolean
        try {
          stored = await this.segments.append(siteId, held.seq + 1, fold)
        } catch (error) {
          // Unknown whether it landed: this site and the ones after it are read again.
          for (const id of touched.slice(i)) this.drop(id)
          throw error
        }
        if (stored) {
          site.commit()
          held.seq += 1
          windows.push({ siteId, seq: held.seq, fold })
          this.prune(siteId, held)
        } else {
          // Another writer stored this number first (another shard's batch of the site, or a
          // delivery of these entries again): take the window back, catch up, count again.
          site.rollback()
          refused += 1
        }
      }
      if (refused === 0) return { ...run, windows, sites: [...sites] }
      if (attempt >= FENCE_ATTEMPTS) {
        throw new StorageUnavailableError(
          `fold: a window number was taken ${attempt} times in a row by other writers`,
        )
      }
    }
  }

  private takeBack(sites: readonly string[]): void {
    for (const siteId of sites) {
      this.state.site(siteId).rollback()
      this.state.takeSite(siteId)
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
