import type { MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { AppDeps, AppEnv } from './app-env.ts'
import { failure } from './envelope.ts'

export const SESSION_COOKIE = 'li_session'

/**
 * Read routes need a dashboard token: `Authorization: Bearer …` or the session cookie.
 * An ingest key is not a token and never passes.
 */
export function requireDashboard(deps: Pick<AppDeps, 'auth'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization')
    const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1]
    const token = bearer ?? getCookie(c, SESSION_COOKIE)
    if (!token)
      return failure(c, 401, 'sign in required: send a Bearer token or the session cookie')
    if (!(await deps.auth.verifyToken(token))) return failure(c, 401, 'invalid or expired token')
    await next()
  }
}
