import { type Context, Hono, type MiddlewareHandler } from 'hono'
import type { CollectOutcome } from '../../pipeline/collector.ts'
import type { SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { clientIp, viewerCountry } from '../client-ip.ts'
import { failure, storageUnavailable, success } from '../envelope.ts'
import type { Metrics } from '../metrics.ts'
import { readBodyText } from '../read-body.ts'
import { requireSiteKey } from '../require-site-key.ts'

type Deps = RouteDeps<Pick<SiteDirectory, 'getSiteByApiKey'>>

export const MAX_BODY_BYTES = 64 * 1024

export function eventRoutes(deps: Deps, metrics: Metrics) {
  const app = new Hono<AppEnv>()
  // Any site may embed the tracker, so the collector answers every origin. The headers are
  // set before the answer is built (Hono's cors middleware edits the finished Response, which
  // makes @hono/node-server build a full WHATWG Response for every beacon).
  app.use('*', async (c, next) => {
    c.header('Access-Control-Allow-Origin', '*')
    await next()
  })
  app.options('/', (c) => {
    c.header('Access-Control-Allow-Methods', 'POST, OPTIONS')
    c.header('Access-Control-Allow-Headers', 'Content-Type, X-API-Key')
    c.header('Access-Control-Max-Age', '86400')
    return c.body(null, 204)
  })
  // The body goes on as text: the accept stage parses it. Nothing that waits for the commit
  // holds the text (an async function keeps its parameters until it returns): under load a
  // request waits tens of milliseconds, long enough for what it holds to be copied by the
  // young generation's collections and then promoted.
  app.post('/', limitRate(deps), requireSiteKey(deps.store), (c) =>
    readBodyText(c, MAX_BODY_BYTES).then((text) => {
      // Timed from the hand-over; what waits for the answer holds the outcome, not the text.
      const handedAt = performance.now()
      return answerWhenStored(c, metrics.timeAccept(handedAt, collect(c, deps, text)))
    }),
  )
  return app
}

/**
 * Per client address, before anything else is done for the request (the key lookup, the
 * body). The answer carries the CORS header set above, so the tracker can read the 429 and
 * back off.
 */
function limitRate(deps: Deps): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const decision = deps.collector.limitRate(clientIp(c, deps))
    if (decision.ok) return next()
    c.header('Retry-After', String(decision.retryAfterS))
    c.header('Access-Control-Expose-Headers', 'Retry-After')
    return Promise.resolve(failure(c, 429, 'too many requests from this address; retry later'))
  }
}

function collect(c: Context<AppEnv>, deps: Deps, text: string): Promise<CollectOutcome> {
  try {
    const ip = clientIp(c, deps)
    return deps.collector.collect(c.get('site'), text, {
      ip,
      userAgent: c.req.header('user-agent') ?? '',
      // The trusted CDN's word first: it saw the viewer, and its database is its own.
      country: viewerCountry(c, deps) || (deps.countryOf?.(ip) ?? ''),
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** The answer once the request's events are stored. */
async function answerWhenStored(c: Context<AppEnv>, collecting: Promise<CollectOutcome>) {
  let outcome: CollectOutcome
  try {
    outcome = await collecting
  } catch (error) {
    outcome = { error: String(error) }
  }
  if ('shed' in outcome) {
    // Nothing was stored: the tracker retries (it backs off on any 5xx).
    c.header('Retry-After', String(outcome.shed.retryAfterS))
    c.header('Access-Control-Expose-Headers', 'Retry-After')
    return failure(c, 503, 'too many events waiting to be stored; retry shortly')
  }
  if ('error' in outcome) {
    c.get('log').error({ err: outcome.error, site: c.get('site').id }, 'accept failed')
    throw storageUnavailable('events could not be stored')
  }
  if ('invalid' in outcome) return failure(c, 400, outcome.invalid)
  const { result } = outcome
  if (result.accepted === 0) {
    return failure(c, 400, 'no valid events', { rejected: result.rejected })
  }
  return success(c, result)
}
