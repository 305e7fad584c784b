import { beforeEach, describe, expect, it } from 'vitest'
import { comparePositions } from '../../core/stream-position.ts'
import type { RollupEntry, Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { asQueued, type OpenStore, record, T0, useContractStore } from './harness.ts'

/** An entry's event id, or its kind for a bot hit. */
function idOf(entry: RollupEntry): string {
  return entry.item.kind === 'event' ? entry.item.event.event_id : entry.item.kind
}

/** RollupQueue: what waits for the roll-up and in which order, hand-overs, dead letters. */
export function rollupQueueContract(open: OpenStore) {
  describe('RollupQueue: the pending queue, hand-overs and dead letters', () => {
    const t = useContractStore(open)
    let store: Store
    beforeEach(() => {
      store = t.store
    })
    const pendingIds = async () => (await store.pending(100)).map(idOf)

    it('gives back what the roll-up reads of each item, in acceptance order', async () => {
      const events = ['a', 'b'].map((id, i) =>
        enrichedEvent({ event_id: id, timestamp: T0 + i, props: { plan: 'pro', n: i } }),
      )
      const bot = { site_id: 'site-a', timezone: 'UTC', timestamp: T0 }
      const { fresh } = await store.accept([...events, { ...events[0]! }], [bot])
      expect(fresh).toEqual([true, true, false])
      expect((await store.pending(10)).map((q) => q.item)).toEqual([
        ...events.map((event) => ({ kind: 'event', event: asQueued(event) })),
        { kind: 'bot', hit: bot },
      ])
      // At most `limit`, oldest first.
      expect((await store.pending(2)).map(idOf)).toEqual(['a', 'b'])
    })

    it('serves a hand-over, where the backend offers one, as storage would', async () => {
      const first = await store.accept([enrichedEvent({ event_id: 'a', timestamp: T0 })], [])
      const second = await store.accept([enrichedEvent({ event_id: 'b', timestamp: T0 })], [])
      const fromStorage = await store.pending(10)
      if (!store.takeHandover) {
        expect(first.handover).toBeUndefined()
        return
      }
      expect(store.takeHandover(first.handover!)).toBe('held')
      expect(store.takeHandover(second.handover!)).toBe('held')
      expect(await store.pending(10)).toEqual(fromStorage)
      await record(store, fromStorage.at(-1))
      // A hand-over that went missing: memory no longer starts at the head, storage serves.
      await store.accept([enrichedEvent({ event_id: 'c', timestamp: T0 })], [])
      const fourth = await store.accept([enrichedEvent({ event_id: 'd', timestamp: T0 })], [])
      store.takeHandover(fourth.handover!)
      expect(await pendingIds()).toEqual(['c', 'd'])
    })

    it('never reuses a position, not even after the queue ran empty', async () => {
      await store.accept([enrichedEvent({ event_id: 'a', timestamp: T0 })], [])
      const [first] = await store.pending(1)
      await record(store, first)
      expect(await store.pending(10)).toEqual([])
      await store.accept([enrichedEvent({ event_id: 'b', timestamp: T0 })], [])
      const [next] = await store.pending(1)
      expect(next?.stream).toBe(first?.stream)
      expect(comparePositions(next?.position ?? '', first?.position ?? '')).toBeGreaterThan(0)
    })

    it('moves one pending item aside and keeps the others pending in order', async () => {
      await store.accept(
        ['a', 'b', 'c'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i })),
        [],
      )
      const pending = await store.pending(10)
      await store.deadLetter(pending[1] as RollupEntry, 'always fails', T0)
      expect(await store.backlog()).toBe(2)
      expect(await pendingIds()).toEqual(['a', 'c'])
    })

    it('records part of one accept and keeps the rest pending, dead letters included', async () => {
      await store.accept(
        ['a', 'b', 'c', 'd'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i })),
        [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }],
      )
      const entries = await store.pending(10)
      await record(store, entries[0])
      expect(await store.backlog()).toBe(4)
      expect(await pendingIds()).toEqual(['b', 'c', 'd', 'bot'])
      // The oldest and a later one move aside; the head skips to what is left.
      await store.deadLetter(entries[1] as RollupEntry, 'always fails', T0)
      await store.deadLetter(entries[3] as RollupEntry, 'always fails', T0)
      await store.deadLetter(entries[1] as RollupEntry, 'again', T0)
      expect(await store.backlog()).toBe(2)
      expect(await pendingIds()).toEqual(['c', 'bot'])
      await record(store, entries[2])
      expect(await pendingIds()).toEqual(['bot'])
      expect(await store.backlog()).toBe(1)
      await record(store, entries[4])
      expect(await store.backlog()).toBe(0)
      expect(await store.pending(10)).toEqual([])
    })
  })
}

/** RollupProgress: how far the roll-up trails, by the accepts' clock. */
export function rollupProgressContract(open: OpenStore) {
  describe('RollupProgress: how long the oldest pending item has waited', () => {
    // The accepts' clock: how far the roll-up trails is measured on it.
    let clock = T0
    const t = useContractStore(open, { now: () => clock })
    const oldest = () => t.store.oldestPendingAcceptedAt()

    it('tells when the oldest item still waiting was accepted, null when none waits', async () => {
      const { store } = t
      clock = T0
      expect(await oldest()).toBeNull()
      clock = T0 + 1_000
      await store.accept(
        ['a', 'b'].map((id) => enrichedEvent({ event_id: id, timestamp: T0 })),
        [],
      )
      // By accept time, not event time: a later accept of an earlier event changes nothing.
      clock = T0 + 5_000
      await store.accept([enrichedEvent({ event_id: 'c', timestamp: T0 - 60_000 })], [])
      expect(await oldest()).toBe(T0 + 1_000)
      // The same request again (a client's retry) queues nothing. (An event repeated in
      // another request may be queued again by a backend that stores requests whole, as
      // DynamoDB's does: the roll-up counts it once all the same, intake.contract.ts.)
      clock = T0 + 9_000
      await store.accept(
        ['a', 'b'].map((id) => enrichedEvent({ event_id: id, timestamp: T0 })),
        [],
      )
      expect(await oldest()).toBe(T0 + 1_000)

      const entries = await store.pending(10)
      expect(entries.map(idOf)).toEqual(['a', 'b', 'c'])
      // Part of the first accept rolled up: the rest of it still waits since then.
      await record(store, entries[0])
      expect(await oldest()).toBe(T0 + 1_000)
      // Its last item moved aside: nothing of it waits any more.
      await store.deadLetter(entries[1] as RollupEntry, 'always fails', clock)
      expect(await oldest()).toBe(T0 + 5_000)
      await record(store, entries[2])
      expect(await oldest()).toBeNull()
    })

    it('counts a bot hit, which waits to be counted too', async () => {
      clock = T0 + 2_000
      await t.store.accept([], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }])
      expect(await oldest()).toBe(T0 + 2_000)
      await record(t.store, (await t.store.pending(1))[0])
      expect(await oldest()).toBeNull()
    })

    it('says what the roll-up set aside, and the earliest event time among it', async () => {
      const { store } = t
      expect(await store.setAside()).toBeNull()
      await store.accept(
        ['a', 'b', 'c'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i * 60_000 })),
        [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 - 3_600_000 }],
      )
      const entries = await store.pending(10)
      const byId = (id: string) => entries.find((e) => idOf(e) === id) as RollupEntry
      await store.deadLetter(byId('c'), 'always fails', T0 + 9 * 60_000)
      expect(await store.setAside()).toEqual({ items: 1, since: T0 + 2 * 60_000 })
      // An earlier event moves `since` back; the same item set aside again counts once.
      await store.deadLetter(byId('b'), 'always fails', T0 + 9 * 60_000)
      await store.deadLetter(byId('c'), 'again', T0 + 10 * 60_000)
      expect(await store.setAside()).toEqual({ items: 2, since: T0 + 60_000 })
      // A bot hit set aside is a count the counters miss too.
      await store.deadLetter(byId('bot'), 'always fails', T0 + 10 * 60_000)
      expect(await store.setAside()).toEqual({ items: 3, since: T0 - 3_600_000 })
    })
  })
}
