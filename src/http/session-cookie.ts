import type { Context } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { TOKEN_TTL_S } from '../auth/dashboard-auth.ts'
import { SESSION_COOKIE } from './require-dashboard.ts'

/** One cookie for the JSON sign-in and the dashboard form, so both sign in the same way. */
export function setSessionCookie(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    // Strict: no other site can make the browser send it, which also covers form CSRF.
    sameSite: 'Strict',
    path: '/',
    maxAge: TOKEN_TTL_S,
    secure: new URL(c.req.url).protocol === 'https:',
  })
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/' })
}
