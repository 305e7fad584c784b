import { Hono } from 'hono'
import { buildStatsQuery, STATS_LIST_PARAMS, StatsParamsSchema } from '../../core/stats-query.ts'
import { renderStatsFragment } from '../../dashboard/stats-fragment.ts'
import type { SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { HttpError, success } from '../envelope.ts'
import { parseQuery } from '../query-params.ts'
import type { StatsReader } from '../stats-reader.ts'
import { wantsHtml } from '../wants-html.ts'

type Deps = RouteDeps<Pick<SiteDirectory, 'getSite'>>

export function statsRoutes(deps: Deps, stats: StatsReader) {
  const app = new Hono<AppEnv>()

  app.get('/', async (c) => {
    const params = parseQuery(c, StatsParamsSchema, STATS_LIST_PARAMS)
    const site = await deps.store.getSite(params.site)
    if (!site) throw new HttpError(404, `no site ${params.site}`)
    const { report } = await stats.read(buildStatsQuery(params, site.timezone, deps.now()))
    c.header('Cache-Control', `private, max-age=${Math.floor(deps.statsCacheMs / 1000)}`)
    c.header('Vary', 'HX-Request, Accept')
    if (wantsHtml(c)) return c.html(renderStatsFragment(report).html)
    return success(c, report)
  })
  return app
}
