import type { MiddlewareHandler } from 'hono'
import type { Site } from '../core/types.ts'
import type { SiteDirectory } from '../storage/store.ts'
import type { AppEnv } from './app-env.ts'
import { failure, storageUnavailable } from './envelope.ts'

/** Known keys are cached briefly: every beacon carries one, and a rotated key dies within it. */
const CACHE_MS = 10_000

/**
 * Resolves the site of an ingest key from `X-API-Key` or `?api_key=` (sendBeacon cannot set
 * headers). An ingest key only ever grants writing events.
 */
export function requireSiteKey(
  store: Pick<SiteDirectory, 'getSiteByApiKey'>,
): MiddlewareHandler<AppEnv> {
  const cache = new Map<string, { site: Site; until: number }>()
  return async (c, next) => {
    const key = c.req.header('x-api-key') ?? c.req.query('api_key')
    if (!key) return failure(c, 401, 'missing API key: send X-API-Key or ?api_key=')
    const now = Date.now()
    const cached = cache.get(key)
    let site = cached && cached.until > now ? cached.site : undefined
    if (!site) {
      try {
        site = await store.getSiteByApiKey(key)
      } catch (error) {
        c.get('log').error({ err: error }, 'site key lookup failed')
        throw storageUnavailable('storage unavailable')
      }
      if (!site) return failure(c, 401, 'unknown API key')
      if (cache.size > 1000) cache.clear()
      cache.set(key, { site, until: now + CACHE_MS })
    }
    c.set('site', site)
    await next()
  }
}
