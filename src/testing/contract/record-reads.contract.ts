import { beforeEach, describe, expect, it } from 'vitest'
import { OTHER_VALUE, RECORD_LIMITS } from '../../record/property-limits.ts'
import type { RecordSession } from '../../record/session-record.ts'
import { timelineEvents } from '../../record/session-timeline.ts'
import { rollUpBatch, rollUpPending } from '../../rollup/roll-up-batch.ts'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { makeSite } from '../fixtures.ts'
import { MIN, type OpenStore, ROLLUP, T0, useContractStore } from './harness.ts'

const DAY = 24 * 60 * MIN

/** What a reader compares of a session's events: id, type, page and props, in order. */
function eventsOf(session: RecordSession | undefined) {
  return session?.events?.map((e) => [e.event_id, e.event_type, e.path, e.props]) ?? null
}

/**
 * RecordReads (record/session-record.ts): sessions kept for good with their events in the
 * order they happened, written by the roll-up exactly once, within the record's limits.
 */
export function recordReadsContract(open: OpenStore) {
  describe('RecordReads: the record of sessions and their events', () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })
    const read = (from = T0 - DAY, to = T0 + DAY) => store.recordSessions('site-a', from, to)

    it('keeps each session with its events in time order, page, name and props', async () => {
      expect(await store.recordSince('site-a')).toBeNull()
      await commit([
        enrichedEvent({ event_id: 'e3', timestamp: T0 + 2 * MIN, path: '/pricing' }),
        enrichedEvent({
          event_id: 'e1',
          timestamp: T0,
          path: '/',
          referrer_host: 'news.ycombinator.com',
        }),
        enrichedEvent({
          event_id: 'e2',
          timestamp: T0 + MIN,
          event_type: 'signup',
          path: '/',
          props: { plan: 'pro', seats: 3, trial: false, coupon: null },
        }),
        enrichedEvent({ event_id: 'x1', client_session_id: 'other', timestamp: T0 + 5 * MIN }),
      ])
      const sessions = await read()
      expect(sessions.map((s) => [s.client_session_id, s.start_time])).toEqual([
        ['client-1', T0],
        ['other', T0 + 5 * MIN],
      ])
      expect(sessions[0]).toMatchObject({
        site_id: 'site-a',
        referrer: 'news.ycombinator.com',
        entry_page: '/',
        exit_page: '/pricing',
        pageviews: 2,
        interactions: 1,
      })
      expect(eventsOf(sessions[0])).toEqual([
        ['e1', 'page_view', '/', null],
        ['e2', 'signup', '/', { plan: 'pro', seats: 3, trial: false, coupon: null }],
        ['e3', 'page_view', '/pricing', null],
      ])
      expect(sessions[0]?.events?.map((e) => e.timestamp)).toEqual([T0, T0 + MIN, T0 + 2 * MIN])
      const since = await store.recordSince('site-a')
      expect(since).not.toBeNull()
      expect(since).toBeLessThanOrEqual(T0)
      // Another site's record is its own.
      expect(await store.recordSessions('site-b', T0 - DAY, T0 + DAY)).toEqual([])
    })

    it('keeps events of the same millisecond in the order they were counted', async () => {
      await commit([enrichedEvent({ event_id: 'z', timestamp: T0 })])
      await commit([enrichedEvent({ event_id: 'a', timestamp: T0, event_type: 'signup' })])
      expect(eventsOf((await read())[0])?.map(([id]) => id)).toEqual(['z', 'a'])
    })

    it('adds nothing for a batch delivered again or a unit redone after a failed write', async () => {
      await store.accept(
        ['a', 'b'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i * MIN })),
        [],
      )
      const batch = await store.pending(10)
      const options = { ...ROLLUP, newSessionId: t.newSessionId }
      await rollUpBatch(store, batch, options)
      await rollUpBatch(store, batch, options)
      // The same event accepted again is a duplicate: nothing new to record.
      await commit([enrichedEvent({ event_id: 'a', timestamp: T0 })])
      expect(eventsOf((await read())[0])?.map(([id]) => id)).toEqual(['a', 'b'])

      await store.accept([enrichedEvent({ event_id: 'c', timestamp: T0 + 2 * MIN })], [])
      t.harness.failNextRollupWriteHalfway()
      await expect(rollUpPending(store, options, 100)).rejects.toThrow()
      await t.harness.reopenAfterFailure?.()
      store = t.store
      await rollUpPending(store, options, 100)
      const sessions = await read()
      expect(sessions).toHaveLength(1)
      expect(eventsOf(sessions[0])?.map(([id]) => id)).toEqual(['a', 'b', 'c'])
    })

    it('joins a late event to its session, and two sessions it bridges into one', async () => {
      await commit([
        enrichedEvent({ event_id: 'a', timestamp: T0, path: '/a' }),
        enrichedEvent({ event_id: 'c', timestamp: T0 + 40 * MIN, path: '/c' }),
      ])
      expect(await read()).toHaveLength(2)
      // Arrives late, between them: within 30 minutes of both, so one session now.
      await commit([enrichedEvent({ event_id: 'b', timestamp: T0 + 20 * MIN, path: '/b' })])
      const sessions = await read()
      expect(sessions).toHaveLength(1)
      expect(sessions[0]).toMatchObject({ start_time: T0, end_time: T0 + 40 * MIN })
      expect(eventsOf(sessions[0])?.map(([id]) => id)).toEqual(['a', 'b', 'c'])
      // An earlier event arriving late moves the start and leads the events.
      await commit([enrichedEvent({ event_id: 'first', timestamp: T0 - 10 * MIN, path: '/' })])
      const [moved] = await read()
      expect(moved).toMatchObject({ start_time: T0 - 10 * MIN, entry_page: '/' })
      expect(eventsOf(moved)?.map(([id]) => id)).toEqual(['first', 'a', 'b', 'c'])
      // The record holds events from the earliest it was given, a late one's included.
      expect(await store.recordSince('site-a')).toBeLessThanOrEqual(T0 - 10 * MIN)
    })

    it('reads a session that spans the edges of the period whole, none outside it', async () => {
      await commit([
        enrichedEvent({ event_id: 'a', timestamp: T0 }),
        enrichedEvent({ event_id: 'b', timestamp: T0 + 20 * MIN }),
        enrichedEvent({ event_id: 'c', timestamp: T0 + 40 * MIN }),
        enrichedEvent({ event_id: 'later', client_session_id: 'c2', timestamp: T0 + 3 * DAY }),
      ])
      // Inside the session, its first moment, its last moment: the whole session each time.
      for (const [from, to] of [
        [T0 + 5 * MIN, T0 + 10 * MIN],
        [T0 - DAY, T0],
        [T0 + 40 * MIN, T0 + DAY],
      ] as const) {
        const sessions = await read(from, to)
        expect(sessions.map((s) => s.client_session_id)).toEqual(['client-1'])
        expect(eventsOf(sessions[0])?.map(([id]) => id)).toEqual(['a', 'b', 'c'])
      }
      expect(await read(T0 - DAY, T0 - 1)).toEqual([])
      expect(await read(T0 + 40 * MIN + 1, T0 + 2 * DAY)).toEqual([])
      expect((await read(T0 + 2 * DAY, T0 + 4 * DAY)).map((s) => s.client_session_id)).toEqual([
        'c2',
      ])
    })

    it('applies the property limits: lengths, keys per event, distinct values per day', async () => {
      const keys = Object.fromEntries(
        Array.from({ length: RECORD_LIMITS.keysPerEvent + 2 }, (_, i) => [`k${i}`, i]),
      )
      await commit([
        enrichedEvent({
          event_id: 'long',
          timestamp: T0,
          event_type: 'note',
          props: { text: 'x'.repeat(RECORD_LIMITS.valueLength + 50) },
        }),
        enrichedEvent({ event_id: 'many', timestamp: T0 + 1, event_type: 'note', props: keys }),
      ])
      const [session] = await read()
      const [long, many] = session?.events ?? []
      expect(long?.props).toEqual({ text: 'x'.repeat(RECORD_LIMITS.valueLength) })
      expect(Object.keys(many?.props ?? {})).toHaveLength(RECORD_LIMITS.keysPerEvent)

      // One value per session, a new one each: past the cap they are "(other)", known ones not.
      const cap = RECORD_LIMITS.distinctValuesPerKeyPerDay
      const order = (i: number, id: string, at: number) =>
        enrichedEvent({
          event_id: id,
          client_session_id: `order-${id}`,
          timestamp: at,
          event_type: 'purchase',
          props: { order: `o${i}`, plan: 'pro' },
        })
      await commit(Array.from({ length: cap }, (_, i) => order(i, `o${i}`, T0 + 2 * MIN)))
      await commit([
        order(cap, 'past-cap', T0 + 3 * MIN),
        order(5, 'known', T0 + 3 * MIN),
        // The next day the cap starts again.
        order(cap + 1, 'next-day', T0 + DAY),
      ])
      const sessions = await read(T0 + 3 * MIN, T0 + 2 * DAY)
      const propsOf = (id: string) =>
        sessions.find((s) => s.client_session_id === `order-${id}`)?.events?.[0]?.props
      expect(propsOf('past-cap')).toEqual({ order: OTHER_VALUE, plan: 'pro' })
      expect(propsOf('known')).toEqual({ order: 'o5', plan: 'pro' })
      expect(propsOf('next-day')).toEqual({ order: `o${cap + 1}`, plan: 'pro' })
      // A thousand sessions: DynamoDB Local takes half a minute on a loaded machine.
    }, 120_000)

    it('keeps the record when the sweep removes the raw events', async () => {
      await commit([
        enrichedEvent({ event_id: 'a', timestamp: T0, props: { plan: 'pro' } }),
        enrichedEvent({ event_id: 'b', timestamp: T0 + MIN }),
      ])
      const swept = await store.sweep({ now: T0 + 3 * DAY, eventTtlMs: DAY })
      expect(swept.events).toBe(2)
      const [session] = await read()
      expect(await store.sessionEvents(session?.id ?? '')).toEqual([])
      expect(eventsOf(session)).toEqual([
        ['a', 'page_view', '/', { plan: 'pro' }],
        ['b', 'page_view', '/', null],
      ])
    })

    it('opens a visit whose raw events were swept from the record, and fresh ones from the raw events', async () => {
      await commit([
        enrichedEvent({ event_id: 'a', timestamp: T0, title: 'Home', props: { plan: 'pro' } }),
        enrichedEvent({ event_id: 'b', timestamp: T0 + MIN, path: '/pricing', title: 'Pricing' }),
      ])
      const [session] = await read()
      if (!session) throw new Error('no session recorded')
      // While the raw events hold the visit, they answer: they carry the titles.
      const fresh = await timelineEvents(store, session)
      expect(fresh.map((e) => [e.event_id, e.title])).toEqual([
        ['a', 'Home'],
        ['b', 'Pricing'],
      ])
      await store.sweep({ now: T0 + 3 * DAY, eventTtlMs: DAY })
      const old = await timelineEvents(store, session)
      expect(old.map((e) => [e.event_id, e.path, e.props, e.title])).toEqual([
        ['a', '/', { plan: 'pro' }, ''],
        ['b', '/pricing', null, ''],
      ])
    })

    it("forgets an identified user: their sessions, record and raw events, no one else's", async () => {
      await commit([
        // Identified on the second event: the first is theirs too.
        enrichedEvent({ event_id: 'a1', client_session_id: 'tab', timestamp: T0 }),
        enrichedEvent({
          event_id: 'a2',
          client_session_id: 'tab',
          timestamp: T0 + MIN,
          user_id: 'alice',
          visitor_id: 'alice',
          props: { email: 'alice@example.com' },
        }),
        enrichedEvent({ event_id: 'b1', client_session_id: 'other', timestamp: T0 }),
      ])
      const before = await store.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: '',
        from: '2026-01-15',
        to: '2026-01-15',
      })
      expect(await store.deleteUserData('site-a', 'alice')).toEqual({
        sessions: 1,
        events: 2,
        raw_events: 2,
      })
      expect((await read()).map((s) => s.client_session_id)).toEqual(['other'])
      expect(await store.userSessions({ site_id: 'site-a', user_id: 'alice', limit: 10 })).toEqual(
        [],
      )
      expect(await store.findSession('site-a', 'tab', T0)).toBeUndefined()
      const other = await store.findSession('site-a', 'other', T0)
      expect((await store.sessionEvents(other?.id ?? '')).map((e) => e.event_id)).toEqual(['b1'])
      // The counters are sums: they stay.
      expect(
        await store.readRollups({
          grain: 'day',
          site_id: 'site-a',
          dim: '',
          from: '2026-01-15',
          to: '2026-01-15',
        }),
      ).toEqual(before)
      expect(await store.deleteUserData('site-a', 'alice')).toEqual({
        sessions: 0,
        events: 0,
        raw_events: 0,
      })
    })

    it("keeps a site's record apart from another site's with the same tracker ids", async () => {
      await store.createSite(makeSite({ id: 'site-b', api_key: 'key-site-b-0123456789' }))
      await commit([
        enrichedEvent({ event_id: 'a', timestamp: T0 }),
        enrichedEvent({ event_id: 'b', site_id: 'site-b', timestamp: T0 + MIN, path: '/b' }),
      ])
      expect(eventsOf((await read())[0])?.map(([id]) => id)).toEqual(['a'])
      const [other] = await store.recordSessions('site-b', T0 - DAY, T0 + DAY)
      expect(eventsOf(other)?.map(([id]) => id)).toEqual(['b'])
    })
  })
}
