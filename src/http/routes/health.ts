import { Hono } from 'hono'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { failure, success } from '../envelope.ts'

export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    let backlog: number
    try {
      await deps.store.health()
      backlog = await deps.store.backlog()
    } catch (error) {
      c.get('log').error({ err: error }, 'storage health check failed')
      return failure(c, 503, `storage unavailable (${deps.store.kind})`)
    }
    return success(c, {
      status: 'ok',
      storage: deps.store.kind,
      version: deps.version,
      // Accepted events not yet in sessions and counters: near 0 when the roll-up keeps pace.
      rollup_backlog: backlog,
    })
  })
  return app
}
