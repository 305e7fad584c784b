import { randomUUID } from 'node:crypto'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import type { SweepPolicy, SweepResult } from '../storage/store.ts'
import type { AcceptOutcome } from './accept-group.ts'
import type { RollupOptions } from './commit-events.ts'
import type { IngestRequest } from './prepare-request.ts'

/**
 * Where the collector's writes go: stage 1 (accept) on the request path, stage 2 (roll-up)
 * in the background, and the retention sweep. The embedded server runs them on writer threads
 * (writer-thread.ts) so commits, fsyncs and roll-ups never stall the thread answering HTTP.
 */
export interface EventWriter {
  /**
   * Prepares one request's events and durably stores the new ones and its bot hits; the
   * outcome comes once they are committed.
   */
  accept(request: IngestRequest): Promise<AcceptOutcome>
  /**
   * A site's live snapshot at `now`, from the window that accepts feed (the stored events of
   * every request answered so far are in it).
   */
  liveSnapshot(siteId: string, now: number): Promise<RealtimeSnapshot>
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
    // randomUUID draws from a cached pool; randomBytes per id cost a loader 4% of its time.
    newSessionId: () =>
      `${Date.now().toString(36).padStart(9, '0')}${randomUUID().replaceAll('-', '').slice(0, 16)}`,
  }
}
