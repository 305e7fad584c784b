import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, type OpenStore, T0, useContractStore } from './harness.ts'

/** BulkLoad: lookups still answer while a bulk load defers the session indexes. */
export function bulkLoadContract(open: OpenStore) {
  describe('BulkLoad', () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('answers session lookups during and after a bulk load', async () => {
      await commit([enrichedEvent({ timestamp: T0, user_id: 'u1', client_session_id: 'a' })])
      await store.beginBulkLoad()
      await commit([
        enrichedEvent({ timestamp: T0 + 60 * MIN, user_id: 'u1', client_session_id: 'b' }),
      ])
      const during = await store.findSession('site-a', 'b', T0 + 60 * MIN)
      expect(during?.user_id).toBe('u1')
      await commit([
        enrichedEvent({ timestamp: T0 + 120 * MIN, user_id: 'u1', client_session_id: 'c' }),
      ])
      await store.endBulkLoad()
      const sessions = await store.userSessions({ site_id: 'site-a', user_id: 'u1', limit: 5 })
      expect(sessions.map((s) => s.client_session_id)).toEqual(['c', 'b', 'a'])
      expect((await store.findSession('site-a', 'c', T0 + 120 * MIN))?.user_id).toBe('u1')
    })
  })
}
