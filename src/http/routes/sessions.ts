import { Hono } from 'hono'
import { z } from 'zod'
import { isBounce } from '../../core/session-rules.ts'
import type { SessionState } from '../../core/types.ts'
import type { RecordReads } from '../../record/session-record.ts'
import { timelineEvents } from '../../record/session-timeline.ts'
import type { SessionReads, SiteDirectory, UserErasure } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'
import { HttpError, success } from '../envelope.ts'
import { parseQuery } from '../query-params.ts'
import type { StatsReader } from '../stats-reader.ts'

type Deps = RouteDeps<SessionReads & RecordReads & Pick<SiteDirectory, 'getSite'>>
type UserDeps = RouteDeps<SessionReads & UserErasure & Pick<SiteDirectory, 'getSite'>>

export const UserSessionsParamsSchema = z.object({
  site: z.string().min(1, { error: 'site is required' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Cursor: only sessions that started before this epoch-ms time. */
  before: z.coerce.number().int().positive().optional(),
})

/**
 * When a tracker session id is looked up: epoch milliseconds, or an ISO 8601 date-time as
 * `/api/realtime` gives an event's `timestamp`, so a client can pass what it was handed.
 */
const Instant = z.union(
  [
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
    z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  ],
  { error: 'must be epoch milliseconds or an ISO 8601 date-time' },
)

/**
 * `GET /api/sessions/{id}` takes either id a session has: the tracker's (`session_id`, as
 * `/api/realtime` shows it), which is unique per site only and may span several sessions, so
 * it needs the site and a time; or the stored one (`id`), which needs neither.
 */
export const SessionParamsSchema = z.object({
  site: z.string().min(1, { error: 'site must not be empty' }).optional().meta({
    description:
      "The session's site. With it, {id} is the tracker's session id (`session_id`), or a stored session id of this site; without it, {id} is a stored session id (`id`).",
  }),
  at: Instant.optional().meta({
    description:
      'With site: a time in the session wanted, as epoch milliseconds or an ISO 8601 date-time. A tracker session id starts a new session after SESSION_TIMEOUT_MINUTES (30) without events: the one containing `at` is chosen, else the nearest. Default: now.',
  }),
})
export type SessionParams = z.infer<typeof SessionParamsSchema>

/** Both ids in every view, so a client can always follow up with either route. */
function sessionView(s: SessionState) {
  return {
    id: s.id,
    session_id: s.client_session_id,
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
    utm_term: s.utm_term,
    utm_content: s.utm_content,
    hostname: s.hostname,
    screen: s.screen,
    browser: s.browser,
    os: s.os,
    device: s.device,
    country: s.country,
  }
}

/** The stored session an id names (see SessionParamsSchema); 404 when there is none. */
async function resolveSession(
  deps: Deps,
  id: string,
  { site, at }: SessionParams,
): Promise<SessionState> {
  if (site === undefined) {
    const stored = await deps.store.getSession(id)
    if (stored) return stored
    throw new HttpError(404, 'no such session (a tracker session id needs ?site=SITE_ID)')
  }
  if (!(await deps.store.getSite(site))) throw new HttpError(404, `no site ${site}`)
  const tracked = await deps.store.findSession(site, id, at ?? deps.now())
  if (tracked) return tracked
  // The stored id works with its site too, so a client may always send the site along.
  const stored = await deps.store.getSession(id)
  if (stored?.site_id === site) return stored
  // Events reach /api/realtime before the roll-up makes their session (within a second).
  throw new HttpError(404, 'no such session (or not rolled up yet)')
}

/** One session with its timeline: its raw events while kept, then the record's (session-timeline.ts). */
export function sessionRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()
  app.get('/:id', async (c) => {
    const session = await resolveSession(
      deps,
      c.req.param('id'),
      parseQuery(c, SessionParamsSchema),
    )
    const events = await timelineEvents(deps.store, session)
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

export const DeleteUserParamsSchema = z.object({
  site: z.string().min(1, { error: 'site is required' }),
})

/**
 * An identified user's sessions, newest first, with a cursor for the next page; and a
 * person's request to be forgotten (UserErasure): their sessions, record and raw events go,
 * the counters stay, as they hold nothing that names anyone.
 */
export function userRoutes(deps: UserDeps, stats: Pick<StatsReader, 'forget'>) {
  const app = new Hono<AppEnv>()
  app.delete('/:id', async (c) => {
    const { site } = parseQuery(c, DeleteUserParamsSchema)
    if (!(await deps.store.getSite(site))) throw new HttpError(404, `no site ${site}`)
    const deleted = await deps.store.deleteUserData(site, c.req.param('id'))
    stats.forget()
    ;(c.get('log') ?? deps.logger).info({ site, ...deleted }, "user's data deleted")
    return success(c, { deleted })
  })
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
