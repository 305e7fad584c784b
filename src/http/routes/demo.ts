import { Hono } from 'hono'
import { DEFAULT_SITE_ID } from '../../core/site-keys.ts'
import { DEMO_PAGES, type DemoPath, renderDemoPage } from '../../dashboard/demo-pages.ts'
import type { SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { htmlPage } from '../dashboard-headers.ts'

type Deps = RouteDeps<Pick<SiteDirectory, 'getSite'>>

/** The public demo site, tracked as the default site, for trying LiveInsight end to end. */
export function demoRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()
  for (const path of Object.keys(DEMO_PAGES) as DemoPath[]) {
    app.get(path.slice('/demo'.length) || '/', async (c) => {
      const site = await deps.store.getSite(DEFAULT_SITE_ID)
      return htmlPage(c, renderDemoPage(path, site?.api_key ?? ''))
    })
  }
  return app
}
