import type { Context } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { TOKEN_TTL_S } from '../auth/dashboard-auth.ts'
import type { AppDeps } from './app-env.ts'
import { isHttps } from './client-ip.ts'
import { SESSION_COOKIE } from './require-dashboard.ts'

/**
 * One cookie for the JSON sign-in and the dashboard form, so both sign in the same way.
 * `Secure` whenever the client's request is HTTPS, also when a TLS proxy in front forwards it
 * as plain HTTP (X-Forwarded-Proto): the browser then never sends the token over plain HTTP.
 */
export function setSessionCookie(
  c: Context,
  token: string,
  deps: Pick<AppDeps, 'trustProxy'>,
): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    // Strict: no other site can make the browser send it, which also covers form CSRF.
    sameSite: 'Strict',
    path: '/',
    maxAge: TOKEN_TTL_S,
    secure: isHttps(c, deps),
  })
}

export function clearSessionCookie(c: Context, deps: Pick<AppDeps, 'trustProxy'>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c, deps) })
}
