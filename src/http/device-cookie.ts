import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { DEVICE_TTL_S } from '../auth/device-cookie.ts'
import type { AppDeps } from './app-env.ts'
import { isHttps } from './client-ip.ts'

/**
 * The browser's device cookie (src/auth/device-cookie.ts), set by both sign-in routes and
 * read by both, so a browser known to one is known to the other. Path `/` because the two
 * routes share no narrower one; it is worth nothing but sign-in attempts anywhere else.
 */
export const DEVICE_COOKIE = 'li_device'

export function presentedDeviceCookie(c: Context): string | undefined {
  return getCookie(c, DEVICE_COOKIE)
}

/**
 * HttpOnly (no script reads it, so an injected one cannot carry it off), SameSite=Strict (no
 * other site's page makes the browser send it) and Secure whenever the client came over HTTPS,
 * as the session cookie decides. Kept at sign-out: it says this browser signed in before,
 * which stays true.
 */
export function setDeviceCookie(c: Context, value: string, deps: Pick<AppDeps, 'trustProxy'>) {
  setCookie(c, DEVICE_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: DEVICE_TTL_S,
    secure: isHttps(c, deps),
  })
}
