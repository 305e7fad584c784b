import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, type OpenStore, site, T0, useContractStore } from './harness.ts'

/** RecentEvents: the live view's read of one site's latest events. */
export function recentEventsContract(open: OpenStore) {
  describe("RecentEvents: a site's latest events", () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it("returns at most a limit of a site's recent events: the latest, oldest first", async () => {
      await commit(
        [0, 1, 2, 3, 4].map((i) =>
          enrichedEvent({ event_id: `e${i}`, timestamp: T0 + i * MIN, path: `/p${i}` }),
        ),
      )
      const live = await store.liveEventsSince(site.id, T0, 3)
      expect(live.map((e) => e.path)).toEqual(['/p2', '/p3', '/p4'])
      expect((await store.liveEventsSince(site.id, T0 + 3 * MIN, 10)).map((e) => e.path)).toEqual([
        '/p3',
        '/p4',
      ])
    })

    it("returns one site's recent events with what the live view shows", async () => {
      await commit([
        enrichedEvent({ timestamp: T0, path: '/old', event_id: 'old' }),
        enrichedEvent({
          timestamp: T0 + 10 * MIN,
          path: '/new',
          event_id: 'new',
          source: 'Google',
          client_session_id: 'tab-7',
        }),
      ])
      // Another site's event in the same minutes is not in this site's read.
      await store.createSite({ ...site, id: 'site-b', api_key: 'key-site-b-0123456789' })
      await commit([enrichedEvent({ site_id: 'site-b', timestamp: T0 + 10 * MIN, event_id: 'b' })])
      const live = await store.liveEventsSince(site.id, T0 + MIN, 100)
      expect(live).toEqual([
        expect.objectContaining({
          path: '/new',
          session_id: 'tab-7',
          source: 'Google',
          country: 'DE',
          device: 'desktop',
          visitor_id: 'visitor-1',
        }),
      ])
    })
  })
}
