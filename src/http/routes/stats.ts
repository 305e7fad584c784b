import { Hono } from 'hono'
import { buildStatsQuery, StatsParamsSchema } from '../../core/stats-query.ts'
import { rollupLagSeconds } from '../../queries/rollup-lag.ts'
import {
  type LaggedStatsReport,
  type StatsReport,
  statsReport,
} from '../../queries/stats-report.ts'
import type { CounterReads, RollupProgress, SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

type Deps = RouteDeps<CounterReads & RollupProgress & Pick<SiteDirectory, 'getSite'>>

import { HttpError, success } from '../envelope.ts'
import { parseQuery } from '../query-params.ts'
import { ResponseCache } from '../response-cache.ts'
import { wantsHtml } from '../wants-html.ts'
import { renderStatsFragment } from './stats-fragment.ts'

export function statsRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()
  const cache = new ResponseCache<StatsReport>(deps.statsCacheMs, deps.now)

  app.get('/', async (c) => {
    const params = parseQuery(c, StatsParamsSchema)
    const site = await deps.store.getSite(params.site)
    if (!site) throw new HttpError(404, `no site ${params.site}`)
    const query = buildStatsQuery(params, site.timezone, deps.now())
    // The key is the parsed query, so equivalent URLs share one entry, and the site's counters
    // version, so an answer is reused only until the roll-up changes what it counted: a new
    // site's first events show at once instead of after the cache's 30 s.
    const version = await deps.store.countersVersion(site.id)
    // The lag outside the cache: while the roll-up is stuck the counters (and so the cached
    // answer) stay the same, and the lag is what changes.
    const [counted, lag] = await Promise.all([
      cache.get(`${version} ${JSON.stringify(query)}`, () => statsReport(deps.store, query)),
      rollupLagSeconds(deps.store, deps.now()),
    ])
    const report: LaggedStatsReport = { ...counted, rollup_lag_s: lag }
    c.header('Cache-Control', `private, max-age=${Math.floor(deps.statsCacheMs / 1000)}`)
    c.header('Vary', 'HX-Request, Accept')
    if (wantsHtml(c)) return c.html(renderStatsFragment(report).html)
    return success(c, report)
  })
  return app
}
