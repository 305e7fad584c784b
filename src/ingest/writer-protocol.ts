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
  | { id: number; op: 'poke' }
  | { id: number; op: 'settle' }
  | { id: number; op: 'sweep'; policy: SweepPolicy }
  | { id: number; op: 'close' }

export interface WriterResults {
  accept: boolean[]
  poke: undefined
  settle: undefined
  sweep: SweepResult
  close: undefined
}

export type WriterAnswer =
  | { id: number; ok: true; value: WriterResults[keyof WriterResults] }
  | { id: number; ok: false; message: string }
