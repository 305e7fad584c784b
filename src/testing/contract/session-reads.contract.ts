import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, type OpenStore, T0, useContractStore } from './harness.ts'

/** SessionReads: sessions by id, by tracker session id and time, by user; their events. */
export function sessionReadsContract(open: OpenStore) {
  describe('SessionReads: sessions and their events', () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('keeps a session and its events in time order, readable by id', async () => {
      await commit([
        enrichedEvent({ event_id: 'e2', timestamp: T0 + MIN, path: '/b' }),
        enrichedEvent({
          event_id: 'e1',
          timestamp: T0,
          path: '/a',
          props: { plan: 'pro' },
          referrer_host: 'news.ycombinator.com',
        }),
      ])
      const session = await store.getSession('session-1')
      expect(session).toMatchObject({
        start_time: T0,
        end_time: T0 + MIN,
        entry_page: '/a',
        exit_page: '/b',
        pageviews: 2,
        // The first event's, not the latest's.
        referrer: 'news.ycombinator.com',
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

    it("lists an identified user's sessions newest first, page by page", async () => {
      await commit([
        enrichedEvent({ timestamp: T0, user_id: 'u1', client_session_id: 'a' }),
        enrichedEvent({ timestamp: T0 + 60 * MIN, user_id: 'u1', client_session_id: 'b' }),
        enrichedEvent({ timestamp: T0 + 120 * MIN, user_id: 'u1', client_session_id: 'c' }),
        enrichedEvent({ timestamp: T0, user_id: 'u2', client_session_id: 'd' }),
      ])
      const page1 = await store.userSessions({ site_id: 'site-a', user_id: 'u1', limit: 2 })
      expect(page1.map((s) => s.client_session_id)).toEqual(['c', 'b'])
      const page2 = await store.userSessions({
        site_id: 'site-a',
        user_id: 'u1',
        limit: 2,
        before: page1[1]?.start_time,
      })
      expect(page2.map((s) => s.client_session_id)).toEqual(['a'])
    })
  })
}
