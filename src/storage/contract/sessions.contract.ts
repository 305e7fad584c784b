import { beforeEach, describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { acceptAndRollUp } from '../../pipeline/accept-and-roll-up.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import type { Store } from '../store.ts'
import { MIN, type OpenStore, ROLLUP, site, T0, total, useContractStore } from './harness.ts'

/** Events in, sessions, counters and timelines out, through both stages. */
export function sessionsContract(open: OpenStore) {
  describe('sessions and counters through the roll-up', () => {
    const t = useContractStore(open)
    const { commit, dayTotals, dim } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('turns a bounce into a two-page session when a later page view arrives', async () => {
      await commit([enrichedEvent({ timestamp: T0, path: '/a' })])
      let totals = await dayTotals()
      expect(totals[0]).toMatchObject({ pageviews: 1, sessions: 1, bounces: 1, visitors: 1 })

      await commit([enrichedEvent({ timestamp: T0 + 2 * MIN, path: '/b' })])
      totals = await dayTotals()
      expect(totals[0]).toMatchObject({
        pageviews: 2,
        sessions: 1,
        bounces: 0,
        visitors: 1,
        duration_ms: 2 * MIN,
      })
      const exits = await dim('exit_page')
      expect(exits.filter((r) => r.sessions !== 0).map((r) => [r.value, r.sessions])).toEqual([
        ['/b', 1],
      ])
    })

    it('ends with the same sessions and counters whatever order events arrive in', async () => {
      // site-a gets three page views 20 minutes apart in one batch; site-b gets the same
      // views, but the middle one late, after the two outer ones were stored as two sessions.
      await store.createSite({ ...site, id: 'site-b', api_key: 'key-site-b-0123456789' })
      const view = (siteId: string, minutes: number, path: string) =>
        enrichedEvent({
          site_id: siteId,
          event_id: `${siteId}-${minutes}`,
          timestamp: T0 + minutes * MIN,
          path,
        })
      await commit([view('site-a', 0, '/a'), view('site-a', 20, '/b'), view('site-a', 40, '/c')])
      await commit([view('site-b', 0, '/a'), view('site-b', 40, '/c')])
      await commit([view('site-b', 20, '/b')])

      const day = '2026-01-15'
      const shape = async (siteId: string) => {
        const range = { grain: 'day' as const, site_id: siteId, from: day, to: day }
        const top = async (dimName: string) =>
          (await store.topValues({ ...range, dim: dimName, orderBy: 'sessions', limit: 10 })).map(
            (r) => [r.value, r.sessions, r.bounces, r.pageviews],
          )
        const [totals] = await store.readRollups({ ...range, dim: '' })
        const session = await store.findSession(siteId, 'client-1', T0 + 40 * MIN)
        return {
          totals: [totals?.sessions, totals?.pageviews, totals?.bounces, totals?.duration_ms],
          entry: await top('entry_page'),
          exit: await top('exit_page'),
          session: [session?.start_time, session?.end_time, session?.pageviews],
          timeline: (await store.sessionEvents(session?.id ?? '')).map((e) => e.path),
        }
      }
      const inOrder = await shape('site-a')
      expect(inOrder.totals).toEqual([1, 3, 0, 40 * MIN])
      expect(inOrder.session).toEqual([T0, T0 + 40 * MIN, 3])
      expect(inOrder.timeline).toEqual(['/a', '/b', '/c'])
      expect(await shape('site-b')).toEqual(inOrder)
    })

    it('starts a new session after a 31-minute gap and keeps one across 29 minutes', async () => {
      await commit([
        enrichedEvent({ timestamp: T0 }),
        enrichedEvent({ timestamp: T0 + 29 * MIN }),
        enrichedEvent({ timestamp: T0 + 60 * MIN }),
      ])
      const totals = await dayTotals()
      expect(totals[0]).toMatchObject({ pageviews: 3, sessions: 2, bounces: 1, visitors: 1 })
      expect(totals[0]?.duration_ms).toBe(29 * MIN)
    })

    it('stores a repeated event id once, in one batch or across batches', async () => {
      const event = enrichedEvent({ event_id: 'same', timestamp: T0 })
      expect((await commit([event, { ...event }])).outcomes).toEqual(['stored', 'duplicate'])
      expect((await commit([{ ...event }])).outcomes).toEqual(['duplicate'])
      expect((await dayTotals())[0]?.pageviews).toBe(1)
    })

    it('counts a visitor once a day for the site and for each page', async () => {
      await commit([
        enrichedEvent({ timestamp: T0, path: '/a', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + MIN, path: '/a', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + 2 * MIN, path: '/b', client_session_id: 's1' }),
        // Same visitor, a second session later that day.
        enrichedEvent({ timestamp: T0 + 5 * 60 * MIN, path: '/a', client_session_id: 's2' }),
        enrichedEvent({
          timestamp: T0 + 3 * MIN,
          path: '/a',
          client_session_id: 's3',
          visitor_id: 'visitor-2',
        }),
      ])
      expect((await dayTotals())[0]).toMatchObject({ visitors: 2, sessions: 3, pageviews: 5 })
      const pages = await dim('page')
      expect(pages.map((r) => [r.value, r.pageviews, r.visitors])).toEqual([
        ['/a', 4, 2],
        ['/b', 1, 1],
      ])
      // Hours sum to the day: each visitor counted in the hour they first showed up.
      const hours = await store.readRollups({
        grain: 'hour',
        site_id: 'site-a',
        dim: '',
        from: hourBucket(T0),
        to: hourBucket(T0) + 23,
      })
      expect(total(hours, 'visitors')).toBe(2)
      expect(total(hours, 'pageviews')).toBe(5)
    })

    it('writes no hourly dimension rows for hours its last sweep already passed', async () => {
      // The sweep ran a week later: hourly dimension rows before (then - 72 h) are gone.
      await store.sweep({ now: T0 + 7 * 24 * 60 * MIN, eventTtlMs: 24 * 60 * MIN })
      await commit([
        enrichedEvent({ event_id: 'old', timestamp: T0, path: '/late' }),
        enrichedEvent({ event_id: 'new', timestamp: T0 + 6 * 24 * 60 * MIN, path: '/late' }),
      ])
      const hours = (dimName: string, at: number) =>
        store.readRollups({
          grain: 'hour',
          site_id: 'site-a',
          dim: dimName,
          from: hourBucket(at),
          to: hourBucket(at),
        })
      // The old hour keeps its site total (charts of any past day) but no page or source rows.
      expect((await hours('', T0))[0]).toMatchObject({ pageviews: 1, visitors: 1 })
      expect(await hours('page', T0)).toEqual([])
      expect(await hours('source', T0)).toEqual([])
      // Its day rows are complete, and a recent hour keeps its dimension rows.
      expect((await dim('page')).map((r) => [r.value, r.pageviews])).toEqual([['/late', 1]])
      const recent = T0 + 6 * 24 * 60 * MIN
      expect((await hours('page', recent)).map((r) => [r.value, r.pageviews])).toEqual([
        ['/late', 1],
      ])
    })

    it('keeps a session and its events in time order, readable by id', async () => {
      await commit([
        enrichedEvent({ event_id: 'e2', timestamp: T0 + MIN, path: '/b' }),
        enrichedEvent({ event_id: 'e1', timestamp: T0, path: '/a', props: { plan: 'pro' } }),
      ])
      const session = await store.getSession('session-1')
      expect(session).toMatchObject({
        start_time: T0,
        end_time: T0 + MIN,
        entry_page: '/a',
        exit_page: '/b',
        pageviews: 2,
      })
      const events = await store.sessionEvents('session-1')
      expect(events.map((e) => [e.event_id, e.path])).toEqual([
        ['e1', '/a'],
        ['e2', '/b'],
      ])
      expect(events[0]?.props).toEqual({ plan: 'pro' })
      expect(await store.getSession('nope')).toBeUndefined()
    })

    it('finds the session of a tracker session id at a time, else the nearest', async () => {
      await commit([
        enrichedEvent({ event_id: 'a', client_session_id: 'tab', timestamp: T0 }),
        enrichedEvent({ event_id: 'b', client_session_id: 'tab', timestamp: T0 + 5 * MIN }),
        // A 60-minute gap starts a second session of the same tab.
        enrichedEvent({ event_id: 'c', client_session_id: 'tab', timestamp: T0 + 65 * MIN }),
      ])
      const first = await store.findSession('site-a', 'tab', T0 + 2 * MIN)
      const second = await store.findSession('site-a', 'tab', T0 + 65 * MIN)
      expect(first).toMatchObject({ start_time: T0, end_time: T0 + 5 * MIN })
      expect(second).toMatchObject({ start_time: T0 + 65 * MIN })
      // In the gap, nearer to the first session's end than to the second's start.
      expect((await store.findSession('site-a', 'tab', T0 + 20 * MIN))?.id).toBe(first?.id)
      expect(await store.findSession('site-a', 'other-tab', T0)).toBeUndefined()
      expect(await store.findSession('site-b', 'tab', T0)).toBeUndefined()
    })

    it('counts bots without storing them as events or visitors', async () => {
      await acceptAndRollUp(store, [], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }], {
        ...ROLLUP,
        newSessionId: () => 'unused',
      })
      expect((await dayTotals())[0]).toMatchObject({ bots: 1, visitors: 0, pageviews: 0 })
    })

    it('puts day rows on the site-local calendar day', async () => {
      // 20:00 UTC on Jan 15 is already Jan 16 in Seoul (+9).
      const late = Date.UTC(2026, 0, 15, 20, 0, 0)
      await commit([enrichedEvent({ timestamp: late, timezone: 'Asia/Seoul' })])
      expect(await dayTotals('2026-01-15')).toEqual([])
      expect((await dayTotals('2026-01-16'))[0]?.pageviews).toBe(1)
    })
  })
}
