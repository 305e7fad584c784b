import { Hono } from 'hono'
import { z } from 'zod'
import { isBounce } from '../../core/session-rules.ts'
import type { SessionState } from '../../core/types.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { HttpError, success } from '../envelope.ts'
import { parseQuery } from '../query-params.ts'

export const UserSessionsParamsSchema = z.object({
  site: z.string().min(1, { error: 'site is required' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Cursor: only sessions that started before this epoch-ms time. */
  before: z.coerce.number().int().positive().optional(),
})

function sessionView(s: SessionState) {
  return {
    id: s.id,
    site_id: s.site_id,
    user_id: s.user_id,
    start: new Date(s.start_time).toISOString(),
    end: new Date(s.end_time).toISOString(),
    duration_s: Math.round((s.end_time - s.start_time) / 1000),
    pageviews: s.pageviews,
    bounce: isBounce(s),
    entry_page: s.entry_page,
    exit_page: s.exit_page,
    source: s.source,
    channel: s.channel,
    utm_source: s.utm_source,
    utm_medium: s.utm_medium,
    utm_campaign: s.utm_campaign,
    browser: s.browser,
    os: s.os,
    device: s.device,
    country: s.country,
  }
}

/** One session with its timeline (events only while within EVENT_TTL_HOURS). */
export function sessionRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/:id', async (c) => {
    const session = await deps.store.getSession(c.req.param('id'))
    if (!session) throw new HttpError(404, 'no such session')
    const events = await deps.store.sessionEvents(session.id)
    return success(c, {
      session: sessionView(session),
      events: events.map((e) => ({
        event_id: e.event_id,
        timestamp: new Date(e.timestamp).toISOString(),
        event_type: e.event_type,
        page_url: e.page_url,
        path: e.path,
        title: e.title,
        referrer: e.referrer,
        props: e.props,
        engagement_ms: e.engagement_ms,
      })),
    })
  })
  return app
}

/** An identified user's sessions, newest first, with a cursor for the next page. */
export function userRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  app.get('/:id/sessions', async (c) => {
    const params = parseQuery(c, UserSessionsParamsSchema)
    const sessions = await deps.store.userSessions({
      site_id: params.site,
      user_id: c.req.param('id'),
      limit: params.limit,
      ...(params.before ? { before: params.before } : {}),
    })
    const last = sessions.at(-1)
    return success(c, {
      sessions: sessions.map(sessionView),
      next_before: sessions.length === params.limit && last ? last.start_time : null,
    })
  })
  return app
}
