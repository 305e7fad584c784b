import { Hono } from 'hono'
import { compress } from 'hono/compress'
import { HTTPException } from 'hono/http-exception'
import { requestId } from 'hono/request-id'
import { StorageUnavailableError } from '../storage/store.ts'
import type { AppDeps, AppEnv } from './app-env.ts'
import { canonicalPaths } from './canonical-path.ts'
import { failure, HttpError, storageUnavailable } from './envelope.ts'
import { strictTransportSecurity } from './hsts.ts'
import { Metrics } from './metrics.ts'
import { originCheck } from './origin-check.ts'
import { requireDashboard } from './require-dashboard.ts'
import { assetRoutes } from './routes/assets.ts'
import { authRoutes } from './routes/auth.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { demoRoutes } from './routes/demo.ts'
import { docsRoutes } from './routes/docs.ts'
import { eventRoutes } from './routes/events.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { realtimeRoutes } from './routes/realtime.ts'
import { sessionRoutes, userRoutes } from './routes/sessions.ts'
import { siteRoutes } from './routes/sites.ts'
import { statsRoutes } from './routes/stats.ts'
import { trackerRoutes } from './routes/tracker.ts'
import { sameOriginWrites } from './same-origin.ts'
import { securityHeaders } from './security-headers.ts'
import { StatsReader } from './stats-reader.ts'

const DASHBOARD_PREFIXES = [
  '/api/realtime',
  '/api/stats',
  '/api/sessions',
  '/api/users',
  '/api/sites',
]

/** Builds the whole HTTP application once; the Node server and the Lambda handler wrap it. */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>()

  // First, so it wraps everything after it: errors, 404s and middleware refusals included.
  app.use('*', securityHeaders())
  app.use('*', requestId())
  // Before anything reads the body or believes a proxy's header (HSTS reads
  // X-Forwarded-Proto): a request that skipped the CDN is answered here and only here.
  if (deps.originSecrets?.length) app.use('*', originCheck(deps.originSecrets))
  app.use('*', strictTransportSecurity(deps))
  // JSON and HTML answers over 1 KiB are gzip/deflate-compressed; event streams never are.
  // The collector's answers are small, and inspecting them costs every beacon a full Response.
  const compressLarge = compress()
  app.use('*', (c, next) => (c.req.path === '/api/events' ? next() : compressLarge(c, next)))
  // Counts every answer by route pattern, whatever stage produced it (metrics.ts).
  const metrics = new Metrics(deps)
  app.use('*', metrics.middleware())
  app.use('*', async (c, next) => {
    const started = performance.now()
    const log = deps.logger.child({ req_id: c.get('requestId') })
    c.set('log', log)
    await next()
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
      'request',
    )
  })

  // Before any route or check: a path spelled another way than the one the edge filters on
  // (`/api/%65vents`, `/api/./events`) names nothing here.
  app.use('*', canonicalPaths(deps.requestPath))

  // Writes come from the dashboard's own pages or carry a Bearer token (same-origin.ts).
  app.use('*', sameOriginWrites(deps))

  // Everything a dashboard reads needs a token or the session cookie, never an ingest key.
  const signedIn = requireDashboard(deps)
  for (const prefix of DASHBOARD_PREFIXES) {
    app.use(prefix, signedIn)
    app.use(`${prefix}/*`, signedIn)
  }

  app.route('/api/events', eventRoutes(deps, metrics))
  app.route('/health', healthRoutes(deps))
  app.route('/metrics', metricsRoutes(deps, metrics))
  app.route('/api/auth', authRoutes(deps))
  // One for the app: the dashboard page and /api/stats serve the same cached answers.
  const stats = new StatsReader(deps)
  app.route('/api/stats', statsRoutes(deps, stats))
  app.route('/api/realtime', realtimeRoutes(deps))
  app.route('/api/sessions', sessionRoutes(deps))
  app.route('/api/users', userRoutes(deps, stats))
  app.route('/api/sites', siteRoutes(deps))
  app.route('/liveinsight.js', trackerRoutes(deps))
  app.route('/', docsRoutes(deps))
  app.route(
    '/assets',
    assetRoutes({
      onMissing: (file) =>
        deps.logger.warn({ file }, 'dashboard asset missing: run npm run build:dashboard'),
    }),
  )
  app.route('/demo', demoRoutes(deps))
  app.route('/', dashboardRoutes(deps, stats))

  app.notFound((c) => failure(c, 404, `no route for ${c.req.method} ${c.req.path}`))
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
      return failure(c, error.status, error.message, error.details)
    }
    // Locked, full, I/O: nothing was written and a retry may succeed (a 503, not a fault of ours).
    if (error instanceof StorageUnavailableError) {
      ;(c.get('log') ?? deps.logger).error({ err: error }, 'storage unavailable')
      const retry = storageUnavailable('storage unavailable')
      for (const [name, value] of Object.entries(retry.headers)) c.header(name, value)
      return failure(c, retry.status, retry.message)
    }
    if (error instanceof HTTPException && error.status < 500) {
      return failure(c, error.status, error.message || 'bad request')
    }
    // Clients see no stack trace; the log keeps it, tied to the request id.
    ;(c.get('log') ?? deps.logger).error({ err: error }, 'unhandled error')
    return failure(c, 500, 'internal error')
  })
  return app
}
