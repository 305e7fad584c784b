import type { MessagePort } from 'node:worker_threads'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import type { SweepPolicy, SweepResult } from '../storage/store.ts'
import type { AcceptOutcome } from './accept-group.ts'
import type { IngestRequest } from './prepare-request.ts'

/** What a writer thread is started with. */
export interface WriterSetup {
  /**
   * `accept`: stage 1 only, so a commit never waits behind roll-up work in the same thread.
   * `rollup`: stage 2 and the sweep, woken by `poke` after accepts.
   */
  role: 'accept' | 'rollup'
  file: string
  /** SQLITE_SYNCHRONOUS, for the accept thread's commits (the roll-up's are NORMAL). */
  synchronous: 'FULL' | 'NORMAL'
  sessionTimeoutMs: number
  logLevel: string
}

/** Calls from the HTTP thread to the writer thread; each is answered once, by id. */
export type WriterCall =
  /**
   * The requests the HTTP thread received in one turn of its event loop, as body text. The
   * accept thread parses, validates and enriches them (prepare-request.ts) and commits them
   * together with whatever else arrived while its last commit ran (group commit); a request
   * that fails on its own fails alone.
   */
  | { id: number; op: 'accept'; requests: readonly IngestRequest[] }
  /**
   * The two ends of a channel from the accept thread to the roll-up thread: after each commit
   * the accept thread posts the queue entries it added (a `PackedBatch`), and the roll-up
   * takes them from memory (hot-queue.ts). Sent again whenever either thread restarts.
   */
  | { id: number; op: 'handoff'; port: MessagePort }
  /**
   * A site's live snapshot, from the window the accept thread feeds (live-view.ts), at `now`
   * on the HTTP thread's clock.
   */
  | { id: number; op: 'live'; siteId: string; now: number }
  | { id: number; op: 'settle' }
  | { id: number; op: 'sweep'; policy: SweepPolicy }
  | { id: number; op: 'close' }

export interface WriterResults {
  accept: AcceptOutcome[]
  handoff: undefined
  live: RealtimeSnapshot
  settle: undefined
  sweep: SweepResult
  close: undefined
}

export type WriterAnswer =
  | { id: number; ok: true; value: WriterResults[keyof WriterResults] }
  | { id: number; ok: false; message: string }
