import { DeltaAccumulator } from '../core/rollup-deltas.ts'
import type { FoldSession } from './fold-state.ts'

/**
 * What the fold's units changed for one site over a window: the counter deltas summed, each
 * session changed (its state after the window, with its recorded events), the sessions merged
 * away, the entries counted (identity hash, when it happened) and the visitor marks claimed
 * (site-local day, hash). Stored as one item per site and window, it is both what readers sum
 * and what a new fold process replays to rebuild its memory (FoldState.replay).
 */
export class SiteFold {
  timezone: string | undefined
  readonly deltas = new DeltaAccumulator()
  readonly sessions = new Map<string, FoldSession>()
  /** Sessions merged away: id → tracker session id (what their stored copies are keyed by). */
  readonly removed = new Map<string, string>()
  readonly counted: Array<[hash: number, at: number]> = []
  readonly marks: Array<[day: string, hash: number]> = []

  constructor(readonly siteId: string) {}

  putSession(kept: FoldSession): void {
    this.sessions.set(kept.session.id, kept)
    this.removed.delete(kept.session.id)
  }

  removeSession(id: string, client: string): void {
    this.sessions.delete(id)
    this.removed.set(id, client)
  }

  isEmpty(): boolean {
    return (
      this.counted.length === 0 &&
      this.marks.length === 0 &&
      this.sessions.size === 0 &&
      this.removed.size === 0 &&
      this.deltas.deltas().length === 0
    )
  }
}
