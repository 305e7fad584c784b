import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../storage/store.ts'
import { type OpenStore, useContractStore } from './harness.ts'

/** StorageHealth: a usable store passes its health check. */
export function storageHealthContract(open: OpenStore) {
  describe('StorageHealth', () => {
    const t = useContractStore(open)
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('answers health checks', async () => {
      await expect(store.health()).resolves.toBeUndefined()
    })
  })
}
