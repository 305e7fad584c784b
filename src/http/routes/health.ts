import { Hono } from 'hono'
import { rollupLagSeconds } from '../../queries/rollup-lag.ts'
import type { RollupProgress, StorageHealth } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { failure, success } from '../envelope.ts'

type Deps = RouteDeps<StorageHealth & Pick<RollupProgress, 'oldestPendingAcceptedAt'>>

/**
 * `GET /health`, public for load balancers and uptime checks: up, or storage failing (reads
 * fail, or the latest writes did: StorageHealth.health), and how many seconds the counters
 * trail ingestion either way, since a roll-up stuck behind a failing disk is the next thing
 * an operator asks about. The version, the storage kind and the backlog stay at `/metrics`,
 * behind a sign-in: they tell an outsider what runs. Two small reads, side by side.
 */
export function healthRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()
  app.get('/', async (c) => {
    const [failed, lag] = await Promise.all([
      deps.store.health().then(
        () => undefined,
        (error: unknown) => ({ error }),
      ),
      // null: it cannot be read, as when reads fail.
      rollupLagSeconds(deps.store, deps.now()).catch(() => null),
    ])
    if (failed) {
      c.get('log').error(
        { err: failed.error, storage: deps.store.kind },
        'storage health check failed',
      )
      return failure(c, 503, 'storage failing', { rollup_lag_s: lag })
    }
    return success(c, { status: 'ok', rollup_lag_s: lag })
  })
  return app
}
