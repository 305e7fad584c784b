import { afterEach, beforeEach } from 'vitest'
import { type RowDimension, zeroCounters } from '../../core/rollup-deltas.ts'
import type { EnrichedEvent, Site } from '../../core/types.ts'
import type { QueuedEvent, RollupRow, Store, StreamPosition } from '../../storage/store.ts'
import { acceptAndRollUp } from '../accept-and-roll-up.ts'
import { makeSite } from '../fixtures.ts'

/**
 * What a backend's test file hands the contract suite: a fresh, empty store, and how to
 * fail its next roll-up write half-way (a fault hook in the backend: the redo test).
 */
export interface StoreHarness {
  store: Store
  cleanup: () => Promise<void>
  /**
   * Makes the store's next roll-up unit write fail after part of it is done (what "part"
   * means is the backend's: whatever it would otherwise apply step by step), once.
   */
  failNextRollupWriteHalfway: () => void
  /**
   * For a store that stops writing after a failed write (SQLite writing on a thread of its own,
   * as an import runs it; the import is rerun): opens the same storage anew for the redo.
   * `store` is the new one afterwards.
   */
  reopenAfterFailure?: () => Promise<void>
  /**
   * Given when the store was opened with `storageFaults`: makes every write fail for a fault
   * of the storage (SQLite: a file at its page limit, as on a full disk; DynamoDB: throttled)
   * until `stop`, while reads go on answering.
   */
  storageFault?: { start: () => Promise<void>; stop: () => Promise<void> }
}

/** What a contract test may ask of the fresh store it opens. */
export interface StoreOptions {
  /** The clock the store's accepts record their time by (Store.oldestPendingAcceptedAt). */
  now?: () => number
  /** The test will make storage fail (StoreHarness.storageFault). */
  storageFaults?: boolean
}

export type OpenStore = (options?: StoreOptions) => Promise<StoreHarness>

export const T0 = Date.UTC(2026, 0, 15, 10, 0, 0)
export const MIN = 60_000
export const site: Site = makeSite({ created_at: T0 })
export const NO_COUNTS = zeroCounters()
export const ROLLUP = { sessionTimeoutMs: 30 * MIN }

/** What the queue gives back of an accepted event: what the roll-up reads, its id and props. */
export function asQueued(event: EnrichedEvent): QueuedEvent {
  const { page_url, title, referrer, engagement_ms, ...queued } = event
  return queued
}

export function total(rows: RollupRow[], name: keyof RollupRow): number {
  return rows.reduce((sum, row) => sum + Number(row[name]), 0)
}

/** Records `through` as rolled up, counting nothing (what the roll-up's write does last). */
export function record(store: Store, through: StreamPosition | undefined): Promise<void> {
  if (!through) throw new Error('store contract: no position to record')
  const { stream, position } = through
  return store.rollup((unit) =>
    unit.write({ sessions: [], deltas: [], through: [{ stream, position }] }),
  )
}

export interface ContractStore {
  readonly store: Store
  readonly harness: StoreHarness
  /** Both stages over `events`, with session ids session-1, session-2… in creation order. */
  commit(events: EnrichedEvent[]): ReturnType<typeof acceptAndRollUp>
  /** The site's day totals. */
  dayTotals(day?: string): Promise<RollupRow[]>
  /** One dimension's day rows. */
  dim(dimName: RowDimension, day?: string): Promise<RollupRow[]>
  /** Session ids as `commit` draws them. */
  newSessionId(): string
}

/** A fresh store with the contract's site for every test of the calling `describe`. */
export function useContractStore(open: OpenStore, options: StoreOptions = {}): ContractStore {
  let harness: StoreHarness | undefined
  let ids = 0
  const current = () => {
    if (!harness) throw new Error('store contract: no store outside a test')
    return harness
  }
  beforeEach(async () => {
    ids = 0
    harness = await open(options)
    await harness.store.createSite(site)
  })
  afterEach(async () => {
    await harness?.cleanup()
    harness = undefined
  })
  const newSessionId = () => `session-${++ids}`
  const readDay = (dim: RowDimension, day: string) =>
    current().store.readRollups({ grain: 'day', site_id: site.id, dim, from: day, to: day })
  return {
    get store() {
      return current().store
    },
    get harness() {
      return current()
    },
    commit: (events) => acceptAndRollUp(current().store, events, [], { ...ROLLUP, newSessionId }),
    dayTotals: (day = '2026-01-15') => readDay('', day),
    dim: (dimName, day = '2026-01-15') => readDay(dimName, day),
    newSessionId,
  }
}
