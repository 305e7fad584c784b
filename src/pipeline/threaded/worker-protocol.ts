import type { MessagePort } from 'node:worker_threads'
import type { AcceptOutcome } from '../../accept/accept-stage.ts'
import type { AcceptRequest } from '../../accept/prepare-request.ts'
import type { RealtimeSnapshot } from '../../live/live-window.ts'
import type { LogOutput } from '../../log/log-output.ts'
import type { SweepPolicy, SweepResult } from '../../storage/store.ts'
import type { StoreModule } from './store-module.ts'

/** What the threaded pipeline is started with. */
export interface ThreadedSetup {
  /** Each worker's own connection: how the accept worker and the roll-up worker open it. */
  stores: { accept: StoreModule; rollup: StoreModule }
  sessionTimeoutMs: number
  logLevel: string
  /** The main thread's choice: a worker's stdout is no terminal of its own to ask. */
  logOutput: LogOutput
  liveBudgetEntries: number
}

/** What each worker is started with: the pipeline's setup, with its own store. */
export interface WorkerSetup extends Omit<ThreadedSetup, 'stores'> {
  store: StoreModule
}

/**
 * The two ends of a channel from the accept worker to the roll-up worker: after each commit
 * the accept worker posts the store's hand-over, and the roll-up worker gives it to its store
 * (Store.takeHandover). Sent again whenever either worker restarts.
 */
type Handoff = { op: 'handoff'; port: MessagePort }
type Close = { op: 'close' }

/** Calls to the accept worker; each is answered once, by id. */
export type AcceptCall =
  /**
   * The requests the HTTP thread received in one turn of its event loop, as body text. The
   * accept worker prepares them and commits them together with whatever else arrived while
   * its last commit ran (group commit); a request that fails on its own fails alone.
   */
  | { op: 'accept'; requests: readonly AcceptRequest[] }
  /** A site's live snapshot, from the window the accept stage feeds, at `now` on the HTTP clock. */
  | { op: 'live'; siteId: string; now: number }
  | Handoff
  | Close

export interface AcceptResults {
  accept: AcceptOutcome[]
  live: RealtimeSnapshot
  handoff: undefined
  close: undefined
}

/** Calls to the roll-up worker. */
export type RollupCall = { op: 'settle' } | { op: 'sweep'; policy: SweepPolicy } | Handoff | Close

export interface RollupResults {
  settle: undefined
  sweep: SweepResult
  handoff: undefined
  close: undefined
}
