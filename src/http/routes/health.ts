import { Hono } from 'hono'
import { rollupLagSeconds } from '../../queries/rollup-lag.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { failure, success } from '../envelope.ts'

export function healthRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    let backlog: number
    let lag: number
    try {
      await deps.store.health()
      backlog = await deps.store.backlog()
      lag = await rollupLagSeconds(deps.store, deps.now())
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
      // How long the oldest of them has waited (s): how far stats trail ingestion.
      rollup_lag_s: lag,
    })
  })
  return app
}
