import { Hono } from 'hono'
import type { StorageHealth } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { failure, success } from '../envelope.ts'

type Deps = RouteDeps<StorageHealth>

/**
 * `GET /health`, public for load balancers and uptime checks: up or down and nothing more.
 * The version, the storage kind, the roll-up backlog and lag tell an outsider what runs and
 * how it copes, so they are at `GET /metrics`, behind a sign-in.
 */
export function healthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    try {
      await deps.store.health()
    } catch (error) {
      c.get('log').error({ err: error, storage: deps.store.kind }, 'storage health check failed')
      return failure(c, 503, 'unavailable')
    }
    return success(c, { status: 'ok' })
  })
  return app
}
