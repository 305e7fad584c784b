import { type Context, Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { renderRealtimeFragment } from '../../dashboard/realtime-fragment.ts'
import { PushThrottle } from '../../live/push-throttle.ts'
import type { SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'
import { HttpError, success } from '../envelope.ts'
import { liveSnapshot } from '../live-snapshot.ts'
import { presentedToken } from '../require-dashboard.ts'
import { wantsHtml } from '../wants-html.ts'

type Deps = RouteDeps<Pick<SiteDirectory, 'getSite'>>

/** Pushes at most once a second, so an event waits at most that long (docs/design.md, Realtime). */
const PUSH_GAP_MS = 1_000
/** Keeps proxies from closing an idle stream and lets visitors age out without new events. */
const KEEPALIVE_MS = 15_000

async function siteIdOf(c: Context<AppEnv>, deps: Deps): Promise<string> {
  const id = c.req.query('site')
  if (!id) throw new HttpError(400, 'site is required')
  if (!(await deps.store.getSite(id))) throw new HttpError(404, 'no such site')
  return id
}

/** The live view: one snapshot (JSON or an HTMX fragment), or a stream of them over SSE. */
export function realtimeRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()

  app.get('/', async (c) => {
    const snapshot = await liveSnapshot(deps.live, await siteIdOf(c, deps))
    // Dashboards that cannot hold SSE poll every 3 s; a cached answer is never older than that.
    c.header('Cache-Control', 'private, max-age=3')
    c.header('Vary', 'HX-Request, Accept')
    if (wantsHtml(c)) return c.html(renderRealtimeFragment(snapshot).html)
    return success(c, snapshot)
  })

  app.get('/stream', async (c) => {
    // A shape whose processes cannot push (Lambda behind API Gateway: a stream would hold an
    // invocation and poll the store, README "Cost on AWS") offers no stream: its clients poll.
    if (deps.livePush === false) {
      throw new HttpError(404, 'no live stream in this deployment: poll /api/realtime every 3 s')
    }
    const siteId = await siteIdOf(c, deps)
    // The token that opened it: a stream lives only as long as that token is good.
    const token = presentedToken(c) ?? ''
    const response = streamSSE(c, async (stream) => {
      // The handler must stay pending while the stream is open: resolving `end` closes it.
      let end = () => {}
      const ended = new Promise<void>((resolve) => {
        end = resolve
      })
      const push = new PushThrottle(async () => {
        // Checked before each push (at least every keepalive): a token that expired, or was
        // revoked elsewhere or by a new password, sends nothing more.
        if (!(await deps.auth.verifyToken(token))) return end()
        const snapshot = await deps.live.snapshot(siteId)
        await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(snapshot) })
      }, PUSH_GAP_MS)
      const stopRevokes = deps.auth.onRevoke((revoked) => {
        if (revoked === token) end()
      })
      const unsubscribe = deps.live.subscribe(siteId, () => push.request())
      const keepalive = setInterval(() => {
        void stream.write(': ping\n\n')
        push.request()
      }, KEEPALIVE_MS)
      push.request()
      stream.onAbort(end)
      deps.live.closed.addEventListener('abort', end)
      if (stream.aborted || deps.live.closed.aborted) end()
      await ended
      stopRevokes()
      deps.live.closed.removeEventListener('abort', end)
      clearInterval(keepalive)
      unsubscribe()
      push.close()
    })
    // A stream holds its connection for life and EventSource reconnects with a new request, so
    // keep-alive gains nothing; closing lets a shutting-down server finish at once.
    response.headers.set('Connection', 'close')
    return response
  })

  return app
}
