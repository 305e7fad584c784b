import { type Context, Hono } from 'hono'
import type { CollectResult } from '../../ingest/collector.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { clientIp, viewerCountry } from '../client-ip.ts'
import { failure, HttpError, storageUnavailable, success } from '../envelope.ts'
import { ingestKey } from '../ingest-key.ts'
import { readBodyText } from '../read-body.ts'

export const MAX_BODY_BYTES = 64 * 1024
export const MAX_EVENTS = 100

/**
 * Accepts `{"events":[…]}`, a bare array, or one bare event object (the original plan's
 * minimal snippet posts a single `{"type":…,"url":…}`).
 */
function eventsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body
  if (typeof body === 'object' && body !== null) {
    if ('events' in body) {
      const events = (body as { events: unknown }).events
      if (!Array.isArray(events)) throw new HttpError(400, 'events must be an array')
      return events
    }
    return [body]
  }
  throw new HttpError(400, 'body must be a JSON object with an "events" array')
}

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
  // The body text and its parsed events are not held while the commit is awaited (see
  // Collector.collect).
  app.post('/', ingestKey(deps.store), async (c) =>
    collectBody(c, deps, await readBodyText(c, MAX_BODY_BYTES)),
  )
  return app
}

/** Checks the body's shape and hands its events to the collector; the answer once stored. */
function collectBody(
  c: Context<AppEnv>,
  deps: AppDeps,
  text: string,
): Response | Promise<Response> {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return failure(c, 400, 'body is not valid JSON')
  }
  const events = eventsOf(body)
  if (events.length === 0) return failure(c, 400, 'events must hold at least 1 event')
  if (events.length > MAX_EVENTS) {
    return failure(c, 400, `events must hold at most ${MAX_EVENTS} events`)
  }
  const site = c.get('site')
  let collecting: Promise<CollectResult>
  try {
    collecting = deps.collector.collect(site, events, {
      ip: clientIp(c, deps),
      userAgent: c.req.header('user-agent') ?? '',
      country: viewerCountry(c),
    })
  } catch (error) {
    collecting = Promise.reject(error)
  }
  return answerWhenStored(c, site.id, collecting)
}

async function answerWhenStored(
  c: Context<AppEnv>,
  siteId: string,
  collecting: Promise<CollectResult>,
): Promise<Response> {
  let result: CollectResult
  try {
    result = await collecting
  } catch (error) {
    c.get('log').error({ err: error, site: siteId }, 'ingest commit failed')
    throw storageUnavailable('events could not be stored')
  }
  if (result.accepted === 0) {
    return failure(c, 400, 'no valid events', { rejected: result.rejected })
  }
  return success(c, result)
}
