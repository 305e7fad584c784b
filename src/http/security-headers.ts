import { createHash } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'

/**
 * The policy of every answer that is not one of our HTML documents (JSON, scripts, styles,
 * event streams, errors). Opened as a document, such an answer may load and run nothing, be
 * framed by nobody and post nowhere: a JSON error that echoes input can never become a page.
 * A script's own CSP does not apply where a page embeds it, so this leaves the tracker usable.
 */
export const NO_CONTENT_CSP = [
  "default-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ')

/** A `style-src` source for one exact inline stylesheet, so no other inline style runs. */
export function styleHashSource(css: string): string {
  return `'sha256-${createHash('sha256').update(css).digest('base64')}'`
}

/** What every answer carries, and what an answer made outside the app (envelope.ts) carries too. */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-Content-Type-Options', 'nosniff'],
  // The CSP's frame-ancestors says the same to current browsers; this is for older ones.
  ['X-Frame-Options', 'DENY'],
  // Dashboard URLs name sites and sessions: other origins learn nothing from a link followed.
  ['Referrer-Policy', 'same-origin'],
  ['Content-Security-Policy', NO_CONTENT_CSP],
]

/**
 * Sets the security headers on every answer, errors and 404s included. They go in before the
 * route runs, as Hono's prepared headers, so every answer built through the context carries
 * them (onError and notFound answer on the same context) at no cost to the collector; a route
 * replaces what it must (an HTML page its CSP, the tracker its CORP). A Response built by hand
 * skips prepared headers, so the finished answer is checked and completed once more.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    for (const [name, value] of SECURITY_HEADERS) c.header(name, value)
    await next()
    const headers = c.res.headers
    if (headers.has('X-Content-Type-Options')) return
    for (const [name, value] of SECURITY_HEADERS) if (!headers.has(name)) headers.set(name, value)
  }
}
