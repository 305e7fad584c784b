import { type Context, Hono } from 'hono'
import type { AcceptOutcome } from '../../accept/accept-stage.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { clientIp, viewerCountry } from '../client-ip.ts'
import { failure, storageUnavailable, success } from '../envelope.ts'
import { readBodyText } from '../read-body.ts'
import { requireSiteKey } from '../require-site-key.ts'

export const MAX_BODY_BYTES = 64 * 1024

export function eventRoutes(deps: AppDeps) {
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
  app.post('/', requireSiteKey(deps.store), (c) =>
    readBodyText(c, MAX_BODY_BYTES).then((text) => answerWhenStored(c, collect(c, deps, text))),
  )
  return app
}

function collect(c: Context<AppEnv>, deps: AppDeps, text: string): Promise<AcceptOutcome> {
  try {
    return deps.collector.collect(c.get('site'), text, {
      ip: clientIp(c, deps),
      userAgent: c.req.header('user-agent') ?? '',
      country: viewerCountry(c, deps),
    })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** The answer once the request's events are stored. */
async function answerWhenStored(c: Context<AppEnv>, collecting: Promise<AcceptOutcome>) {
  let outcome: AcceptOutcome
  try {
    outcome = await collecting
  } catch (error) {
    outcome = { error: String(error) }
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
