import { type Context, Hono } from 'hono'
import { getCookie } from 'hono/cookie'
import { buildStatsQuery, StatsParamsSchema } from '../../core/stats-query.ts'
import { renderDashboardPage } from '../../dashboard/dashboard-page.ts'
import { DEFAULT_PERIOD, isDashboardPeriod } from '../../dashboard/format.ts'
import { renderLoginPage } from '../../dashboard/login-page.ts'
import { renderPropertiesPanel } from '../../dashboard/properties-panel.ts'
import { renderTimelineMissing, renderTimelinePage } from '../../dashboard/timeline-page.ts'
import type { RecordReads } from '../../record/session-record.ts'
import { timelineEvents } from '../../record/session-timeline.ts'
import type { SessionReads, SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'
import { clientIp } from '../client-ip.ts'
import { htmlPage } from '../dashboard-headers.ts'
import { presentedDeviceCookie, setDeviceCookie } from '../device-cookie.ts'
import { liveSnapshot } from '../live-snapshot.ts'
import { readBodyText, SMALL_BODY_BYTES } from '../read-body.ts'
import { SESSION_COOKIE } from '../require-dashboard.ts'
import { clearSessionCookie, setSessionCookie } from '../session-cookie.ts'
import type { StatsReader } from '../stats-reader.ts'

type Deps = RouteDeps<SessionReads & RecordReads & SiteDirectory>

async function signedIn(c: Context<AppEnv>, deps: Deps): Promise<boolean> {
  const token = getCookie(c, SESSION_COOKIE)
  return token ? deps.auth.verifyToken(token) : false
}

/** The dashboard pages: sign-in form, the signed-in view, and one visit's timeline. */
export function dashboardRoutes(deps: Deps, stats: StatsReader) {
  const app = new Hono<AppEnv>()

  app.get('/', async (c) => {
    if (!(await signedIn(c, deps))) return htmlPage(c, renderLoginPage())
    const sites = await deps.store.listSites()
    const site = sites.find((s) => s.id === c.req.query('site')) ?? sites[0]
    if (!site) return c.text('no sites configured', 500)
    const requested = c.req.query('period')
    const period = isDashboardPeriod(requested) ? requested : DEFAULT_PERIOD
    // A hand-edited URL with a bad filter or property shows the view without them, not an
    // error page: the API is where a bad filter is a 400.
    const asked = StatsParamsSchema.safeParse({
      site: site.id,
      period,
      compare: 'previous',
      filter: c.req.queries('filter') ?? [],
      props: c.req.query('props'),
    })
    const params = asked.success
      ? asked.data
      : StatsParamsSchema.parse({ site: site.id, period, compare: 'previous' })
    const [snapshot, { report, countersVersion }] = await Promise.all([
      liveSnapshot(deps.live, site.id),
      stats.read(buildStatsQuery(params, site.timezone, deps.now())),
    ])
    // Until anything was counted for the site the page leads with the snippet. Events reach
    // the live view before the roll-up: count them as data too.
    const hasData = countersVersion > 0 || snapshot.recent_events.length > 0
    c.header('Vary', 'Cookie, HX-Request')
    return htmlPage(
      c,
      renderDashboardPage({
        sites,
        site,
        siteId: site.id,
        period,
        filters: params.filter,
        props: params.props ?? null,
        report,
        snapshot,
        livePush: deps.livePush ?? true,
        hasData,
        // Behind a CDN the request's host is the origin server's (API Gateway's execute-api
        // name, without its stage): a snippet naming it would skip the CDN.
        origin: deps.publicOrigin ?? new URL(c.req.url).origin,
        ...(deps.collectorOrigin ? { collectorOrigin: deps.collectorOrigin } : {}),
      }),
    )
  })

  app.post('/login', async (c) => {
    // The form (application/x-www-form-urlencoded, at most 4 KiB) is read only once the
    // client may try: see DashboardAuth.login.
    const from = { ip: clientIp(c, deps), deviceCookie: presentedDeviceCookie(c) }
    const result = await deps.auth.login(from, async () => {
      const password = new URLSearchParams(await readBodyText(c, SMALL_BODY_BYTES)).get('password')
      return password && password.length <= 256 ? password : undefined
    })
    if (!result.ok) {
      if (result.reason === 'no_password')
        return htmlPage(c, renderLoginPage('Enter the dashboard password.'), 400)
      if (result.reason === 'rate_limited') {
        c.header('Retry-After', String(result.retryAfterS))
        return htmlPage(c, renderLoginPage('Too many failed sign-ins. Try again later.'), 429)
      }
      return htmlPage(c, renderLoginPage('Wrong password.'), 401)
    }
    setSessionCookie(c, result.token, deps)
    setDeviceCookie(c, result.deviceCookie, deps)
    // 303: the browser follows with a GET, so a reload never re-posts the password.
    return c.redirect('/', 303)
  })

  // As POST /api/auth/logout: revokes the session cookie's token.
  app.post('/logout', async (c) => {
    const token = getCookie(c, SESSION_COOKIE)
    if (token) await deps.auth.signOut(token)
    clearSessionCookie(c, deps)
    return c.redirect('/', 303)
  })

  // The properties panel of an unfiltered view: the counters answer the page, and only the
  // record knows property keys, so the page asks for them once it has shown (properties-panel.ts).
  app.get('/properties', async (c) => {
    if (!(await signedIn(c, deps))) return c.redirect('/', 303)
    const site = await deps.store.getSite(c.req.query('site') ?? '')
    const requested = c.req.query('period')
    if (!site || !isDashboardPeriod(requested)) return c.redirect('/', 303)
    const params = StatsParamsSchema.parse({ site: site.id, period: requested })
    const keys = await stats.propertyKeys(buildStatsQuery(params, site.timezone, deps.now()))
    c.header('Vary', 'Cookie, HX-Request')
    return htmlPage(
      c,
      renderPropertiesPanel(
        { siteId: site.id, period: requested, filters: [] },
        { prop_keys: keys },
      ),
    )
  })

  // The live feed knows a tracker session id and a time; this finds the stored visit.
  app.get('/timeline', async (c) => {
    if (!(await signedIn(c, deps))) return c.redirect('/', 303)
    const site = await deps.store.getSite(c.req.query('site') ?? '')
    const sid = c.req.query('sid') ?? ''
    const at = Date.parse(c.req.query('at') ?? '')
    if (!site || !sid || Number.isNaN(at)) return c.redirect('/', 303)
    const session = await deps.store.findSession(site.id, sid, at)
    if (!session) return htmlPage(c, renderTimelineMissing(site), 404)
    const events = await timelineEvents(deps.store, session)
    return htmlPage(c, renderTimelinePage(site, session, events))
  })
  return app
}
