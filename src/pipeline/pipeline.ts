import type { AcceptOutcome } from '../accept/accept-stage.ts'
import type { AcceptRequest } from '../accept/prepare-request.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import type { SweepPolicy, SweepResult } from '../storage/store.ts'

/**
 * The two stages as the HTTP side sees them, whoever hosts them: accept on the request path,
 * roll-up in the background, and the retention sweep. The embedded server hosts them on
 * worker threads (threaded/threaded-pipeline.ts) so commits, fsyncs and roll-ups never
 * stall the thread answering HTTP; the in-process host (in-process-pipeline.ts) runs them on
 * the caller's thread, for tests and for hosts with one request at a time (Lambda).
 */
export interface Pipeline {
  /**
   * Prepares one request's events and durably stores the new ones and its bot hits; the
   * outcome comes once they are committed.
   */
  accept(request: AcceptRequest): Promise<AcceptOutcome>
  /**
   * A site's live snapshot at `now`: every event of every request answered so far is in it.
   */
  liveSnapshot(siteId: string, now: number): Promise<RealtimeSnapshot>
  /** Resolves once everything accepted so far is rolled up into sessions and counters. */
  settle(): Promise<void>
  sweep(policy: SweepPolicy): Promise<SweepResult>
  /** Rolls up what is pending, then stops; the store itself is closed by its owner. */
  close(): Promise<void>
}
