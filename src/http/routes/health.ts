import { Hono } from 'hono'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { failure, success } from '../envelope.ts'

export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    try {
      await deps.store.health()
    } catch (error) {
      c.get('log').error({ err: error }, 'storage health check failed')
      return failure(c, 503, `storage unavailable (${deps.store.kind})`)
    }
    return success(c, { status: 'ok', storage: deps.store.kind, version: deps.version })
  })
  return app
}
