import { DEFAULT_SITE_ID, newApiKey } from '../core/site-keys.ts'
import type { Site } from '../core/types.ts'
import type { SiteDirectory } from '../storage/store.ts'

/**
 * The default site exists from the first start. Its key comes from API_KEY when set (and
 * follows it when the variable changes), otherwise it is generated once and kept.
 */
export async function ensureDefaultSite(
  store: SiteDirectory,
  configuredKey: string | undefined,
  now: number,
): Promise<{ site: Site; generatedKey: boolean }> {
  const existing = await store.getSite(DEFAULT_SITE_ID)
  if (existing) {
    if (configuredKey && configuredKey !== existing.api_key) {
      await store.setSiteApiKey(DEFAULT_SITE_ID, configuredKey)
      return { site: { ...existing, api_key: configuredKey }, generatedKey: false }
    }
    return { site: existing, generatedKey: false }
  }
  const site: Site = {
    id: DEFAULT_SITE_ID,
    name: 'My website',
    domain: '',
    timezone: 'UTC',
    api_key: configuredKey ?? newApiKey(),
    created_at: now,
  }
  await store.createSite(site)
  return { site, generatedKey: configuredKey === undefined }
}
