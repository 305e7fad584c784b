import { beforeEach, describe, expect, it } from 'vitest'
import { comparePositions } from '../../core/stream-position.ts'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { asQueued, type OpenStore, record, T0, useContractStore } from './harness.ts'

/** Intake: each event stored and queued once, whatever repeats it; one salt per day. */
export function intakeContract(open: OpenStore) {
  describe('Intake: accept and the daily salts', () => {
    const t = useContractStore(open)
    const { commit, dayTotals } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('accepts an event once per (site, timestamp, event_id) and keeps it pending', async () => {
      const a = enrichedEvent({ event_id: 'a', timestamp: T0 })
      const fresh = async (...args: Parameters<Store['accept']>) =>
        (await store.accept(...args)).fresh
      expect(await fresh([a, { ...a }], [])).toEqual([true, false])
      expect(await fresh([{ ...a }, { ...a, site_id: 'site-b' }], [])).toEqual([false, true])
      // Same id at another time is another event (a retry repeats both).
      expect(await fresh([{ ...a, timestamp: T0 + 1 }], [])).toEqual([true])
      await store.accept([], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }])
      expect(await store.backlog()).toBe(4)
      const pending = await store.pending(10)
      expect(pending.map((q) => q.item.kind)).toEqual(['event', 'event', 'event', 'bot'])
      expect(pending[0]?.item).toEqual({ kind: 'event', event: asQueued(a) })
      const positions = pending.map((q) => q.position)
      expect([...positions].sort(comparePositions)).toEqual(positions)
      // Recording the second as rolled up leaves the rest for the next unit.
      await record(store, pending[1])
      expect(await store.backlog()).toBe(2)
      expect((await store.pending(10)).map((q) => q.position)).toEqual(positions.slice(2))
    })

    it('stores a repeated event id once, in one batch or across batches', async () => {
      const event = enrichedEvent({ event_id: 'same', timestamp: T0 })
      expect((await commit([event, { ...event }])).outcomes).toEqual(['stored', 'duplicate'])
      expect((await commit([{ ...event }])).outcomes).toEqual(['duplicate'])
      expect((await dayTotals())[0]?.pageviews).toBe(1)
    })

    it('counts an event repeated in another request once', async () => {
      const a = enrichedEvent({ event_id: 'a', timestamp: T0 })
      const b = enrichedEvent({ event_id: 'b', timestamp: T0 + 1 })
      const c = enrichedEvent({ event_id: 'c', timestamp: T0 + 2 })
      expect((await commit([a, b])).outcomes).toEqual(['stored', 'stored'])
      // A backend that stores requests whole (DynamoDB) may call the repeat stored: the roll-up
      // counts it by its identity, once.
      expect((await commit([{ ...a }, c])).outcomes[1]).toBe('stored')
      expect((await dayTotals())[0]?.pageviews).toBe(3)
    })

    it('keeps one salt per day and forgets it after the day is over', async () => {
      const first = await store.dailySalt('2026-01-15')
      expect(first.length).toBeGreaterThanOrEqual(32)
      expect(await store.dailySalt('2026-01-15')).toBe(first)
      expect(await store.dailySalt('2026-01-16')).not.toBe(first)
      const swept = await store.sweep({ now: Date.UTC(2026, 0, 19), eventTtlMs: 3_600_000 })
      expect(swept.salts).toBe(2)
      expect(await store.dailySalt('2026-01-15')).not.toBe(first)
    })
  })
}
