import { beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../storage/store.ts'
import { type OpenStore, site, useContractStore } from './harness.ts'

/** SiteDirectory: sites by id and by ingest key, the list, key rotation. */
export function siteDirectoryContract(open: OpenStore) {
  describe('SiteDirectory: sites and their keys', () => {
    const t = useContractStore(open)
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('finds a site by id and by ingest key, and nothing for an unknown key', async () => {
      expect(await store.getSite('site-a')).toEqual(site)
      expect(await store.getSiteByApiKey(site.api_key)).toEqual(site)
      expect(await store.getSiteByApiKey('nope-nope-nope-nope')).toBeUndefined()
      expect(await store.getSite('missing')).toBeUndefined()
    })

    it('lists sites and rotates a key', async () => {
      await store.createSite({ ...site, id: 'site-b', api_key: 'key-site-b-0123456789' })
      expect((await store.listSites()).map((s) => s.id)).toEqual(['site-a', 'site-b'])
      await store.setSiteApiKey('site-b', 'key-rotated-0123456789')
      expect(await store.getSiteByApiKey('key-site-b-0123456789')).toBeUndefined()
      expect((await store.getSiteByApiKey('key-rotated-0123456789'))?.id).toBe('site-b')
    })
  })
}

/** Settings: named values, initialised once, replaced on put. */
export function settingsContract(open: OpenStore) {
  describe('Settings', () => {
    const t = useContractStore(open)
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('keeps settings: the first value initialised wins, put replaces', async () => {
      expect(await store.getSetting('secret')).toBeUndefined()
      expect(await store.initSetting('secret', 'one')).toBe('one')
      expect(await store.initSetting('secret', 'two')).toBe('one')
      await store.putSetting('secret', 'three')
      expect(await store.getSetting('secret')).toBe('three')
    })
  })
}
