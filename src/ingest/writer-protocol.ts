import type { MessagePort } from 'node:worker_threads'
import type { BotHit, EnrichedEvent } from '../core/types.ts'
import type { SweepPolicy, SweepResult } from '../storage/store.ts'

/** What a writer thread is started with. */
export interface WriterSetup {
  /**
   * `accept`: stage 1 only, so a commit never waits behind roll-up work in the same thread.
   * `rollup`: stage 2 and the sweep, woken by `poke` after accepts.
   */
  role: 'accept' | 'rollup'
  file: string
  synchronous: 'FULL' | 'NORMAL'
  sessionTimeoutMs: number
  logLevel: string
}

/** Calls from the HTTP thread to the writer thread; each is answered once, by id. */
export type WriterCall =
  | { id: number; op: 'accept'; events: readonly EnrichedEvent[]; bots: readonly BotHit[] }
  /**
   * The two ends of a channel from the accept thread to the roll-up thread: after each commit
   * the accept thread posts the queue entries it added (`QueuedEntry[]`), and the roll-up
   * takes them from memory (hot-queue.ts). Sent again whenever either thread restarts.
   */
  | { id: number; op: 'handoff'; port: MessagePort }
  | { id: number; op: 'settle' }
  | { id: number; op: 'sweep'; policy: SweepPolicy }
  | { id: number; op: 'close' }

export interface WriterResults {
  accept: boolean[]
  handoff: undefined
  settle: undefined
  sweep: SweepResult
  close: undefined
}

export type WriterAnswer =
  | { id: number; ok: true; value: WriterResults[keyof WriterResults] }
  | { id: number; ok: false; message: string }
