import type { Context, MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import type { AppDeps, AppEnv } from './app-env.ts'
import { failure } from './envelope.ts'

export const SESSION_COOKIE = 'li_session'

/** The dashboard token a request carries: `Authorization: Bearer …`, else the session cookie. */
export function presentedToken(c: Context): string | undefined {
  const bearer = c.req.header('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1]
  return bearer ?? getCookie(c, SESSION_COOKIE)
}

/**
 * Read routes need a dashboard token: `Authorization: Bearer …` or the session cookie.
 * An ingest key is not a token and never passes.
 */
export function requireDashboard(deps: Pick<AppDeps, 'auth'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = presentedToken(c)
    if (!token)
      return failure(c, 401, 'sign in required: send a Bearer token or the session cookie')
    if (!(await deps.auth.verifyToken(token))) return failure(c, 401, 'invalid or expired token')
    await next()
  }
}
