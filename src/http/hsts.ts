import type { MiddlewareHandler } from 'hono'
import type { AppDeps } from './app-env.ts'
import { isHttps } from './client-ip.ts'

/**
 * A year; no includeSubDomains, since the service may be one host among others of a domain
 * that are not all on HTTPS.
 */
export const HSTS = 'max-age=31536000'

/**
 * Strict-Transport-Security on answers to HTTPS requests (directly, or as the trusted proxy
 * says): once a browser has seen it, it goes to this host over HTTPS only, so a network
 * attacker cannot strip TLS from a later visit and read the session cookie or the password.
 * Never over plain HTTP, where browsers ignore it anyway and a local install must keep working.
 */
export function strictTransportSecurity(deps: Pick<AppDeps, 'trustProxy'>): MiddlewareHandler {
  return async (c, next) => {
    if (!isHttps(c, deps)) return next()
    // Prepared before the route runs, so every answer built on the context carries it;
    // a Response built by hand is completed afterwards.
    c.header('Strict-Transport-Security', HSTS)
    await next()
    if (!c.res.headers.has('Strict-Transport-Security')) {
      c.res.headers.set('Strict-Transport-Security', HSTS)
    }
  }
}
