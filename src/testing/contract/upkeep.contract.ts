import { beforeEach, describe, expect, it } from 'vitest'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, type OpenStore, ROLLUP, T0, total, useContractStore } from './harness.ts'

/** Upkeep: the sweep forgets raw events past their TTL, never what is still to be counted. */
export function upkeepContract(open: OpenStore) {
  describe('Upkeep: the sweep', () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('sweeps raw events after the TTL and keeps the counters', async () => {
      await commit([
        enrichedEvent({ event_id: 'old', timestamp: T0 }),
        enrichedEvent({ event_id: 'new', timestamp: T0 + 50 * 60 * MIN, client_session_id: 'x' }),
      ])
      const swept = await store.sweep({ now: T0 + 60 * 60 * MIN, eventTtlMs: 24 * 60 * MIN })
      expect(swept.events).toBe(1)
      expect((await store.sessionEvents('session-1')).length).toBe(0)
      expect((await store.sessionEvents('session-2')).map((e) => e.event_id)).toEqual(['new'])
      const days = await store.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: '',
        from: '2026-01-01',
        to: '2026-01-31',
      })
      expect(total(days, 'pageviews')).toBe(2)
    })

    it('keeps an expired event until it is rolled up, then sweeps it', async () => {
      // Accepted but not rolled up yet (a late event, or a roll-up that is behind).
      await store.accept([enrichedEvent({ event_id: 'late', timestamp: T0 })], [])
      const policy = { now: T0 + 60 * 60 * MIN, eventTtlMs: 24 * 60 * MIN }
      expect((await store.sweep(policy)).events).toBe(0)
      const pending = await store.pending(10)
      expect(pending.map((q) => q.item.kind === 'event' && q.item.event.event_id)).toEqual(['late'])
      await rollUpBatch(store, pending, { ...ROLLUP, newSessionId: t.newSessionId })
      expect((await store.sweep(policy)).events).toBe(1)
    })
  })
}
