import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono, type MiddlewareHandler } from 'hono'
import type { AppDeps, AppEnv } from '../app-env.ts'
import type { Metrics } from '../metrics.ts'
import { requireDashboard } from '../require-dashboard.ts'

const digest = (text: string) => createHash('sha256').update(text).digest()

/**
 * `METRICS_TOKEN` as a Bearer token, for a scraper that should not hold a dashboard token
 * (those expire in 12 h and open every read route); anything else must be a dashboard sign-in.
 * Compared as hashes, in constant time, so neither the token nor its length leaks by timing.
 */
function metricsToken(deps: Pick<AppDeps, 'auth' | 'metricsToken'>): MiddlewareHandler<AppEnv> {
  const signedIn = requireDashboard(deps)
  const expected = deps.metricsToken ? digest(deps.metricsToken) : undefined
  return (c, next) => {
    const bearer = c.req.header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1]
    if (expected && bearer && timingSafeEqual(digest(bearer), expected)) return next()
    return signedIn(c, next)
  }
}

/**
 * `GET /metrics`: Prometheus text exposition. Never public: event counts and backlog tell an
 * outsider how busy the service is and when it struggles.
 */
export function metricsRoutes(deps: AppDeps, metrics: Metrics) {
  const app = new Hono<AppEnv>()
  app.get('/', metricsToken(deps), async (c) => {
    const text = await metrics.render()
    c.header('Cache-Control', 'no-store')
    return c.body(text, 200, { 'Content-Type': metrics.contentType })
  })
  return app
}
