import { describe, expect, it } from 'vitest'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import { StorageUnavailableError } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { type OpenStore, ROLLUP, site, T0, useContractStore } from './harness.ts'

/** Events large enough that storing them, or their sessions and counters, needs new space. */
function events(tag: string, count = 20) {
  return Array.from({ length: count }, (_, i) =>
    enrichedEvent({
      site_id: site.id,
      event_id: `${tag}-${i}`,
      client_session_id: `${tag}-${i}`,
      timestamp: T0 + i,
      visitor_id: `${tag}-visitor-${i}`,
      title: 't'.repeat(500),
      // Long paths: the roll-up's sessions and page counters need new space too.
      path: `/${tag}/${i}/${'p'.repeat(1900)}`,
      page_url: `https://contract.example/${tag}/${i}/${'p'.repeat(1900)}`,
    }),
  )
}

/**
 * StorageHealth: a usable store passes its health check; one whose latest write failed for a
 * fault of the storage fails it, though it still reads, until a write succeeds again.
 */
export function storageHealthContract(open: OpenStore) {
  describe('StorageHealth', () => {
    const t = useContractStore(open)

    it('answers health checks', async () => {
      await expect(t.store.health()).resolves.toBeUndefined()
    })
  })

  describe('StorageHealth when writes fail for a fault of the storage', () => {
    const t = useContractStore(open, { storageFaults: true })
    const fault = () => {
      const hook = t.harness.storageFault
      if (!hook) throw new Error('storage-health contract: the harness gives no storageFault')
      return hook
    }
    const options = { ...ROLLUP, newSessionId: t.newSessionId }

    it('fails its check after a failed accept, reads still answering, until a write succeeds', async () => {
      await fault().start()
      try {
        await expect(t.store.accept(events('refused'), [])).rejects.toBeInstanceOf(
          StorageUnavailableError,
        )
        await expect(t.store.health()).rejects.toBeInstanceOf(StorageUnavailableError)
        expect(await t.store.getSite(site.id)).toEqual(site)
      } finally {
        await fault().stop()
      }
      // Writable again, but the latest write is still the failed one.
      await expect(t.store.health()).rejects.toBeInstanceOf(StorageUnavailableError)
      await t.store.accept(events('stored'), [])
      await expect(t.store.health()).resolves.toBeUndefined()
    })

    it('fails its check after a failed roll-up write', async () => {
      await t.store.accept(events('waiting'), [])
      const batch = await t.store.pending(100)
      expect(batch.length).toBe(20)
      await fault().start()
      try {
        await expect(rollUpBatch(t.store, batch, options)).rejects.toBeInstanceOf(
          StorageUnavailableError,
        )
        await expect(t.store.health()).rejects.toBeInstanceOf(StorageUnavailableError)
      } finally {
        await fault().stop()
      }
    })
  })
}
