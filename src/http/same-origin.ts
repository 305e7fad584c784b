import type { Context, MiddlewareHandler } from 'hono'
import type { AppDeps } from './app-env.ts'
import { failure } from './envelope.ts'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Any site's pages send beacons here with the ingest key: it must take cross-site posts. */
const COLLECTOR_PATH = '/api/events'

const BEARER = /^Bearer\s+\S/i

/**
 * Whether the browser sent this request on behalf of one of our own pages. `Sec-Fetch-Site`
 * is the browser's own verdict and no page can set it, so it decides when present (it also
 * holds behind a proxy that rewrites Host); `none` is the user typing or bookmarking a URL.
 * Without it (older browsers, Safari before 16.4), `Origin` must name the host the request
 * came to, the host alone, so a proxy that terminates TLS (https outside, http here) does not
 * look cross-site; or be the public origin (PUBLIC_ORIGIN), scheme and port too: behind
 * CloudFront the host here is API Gateway's, never the page's, and such a browser's sign-in
 * was refused. With neither header the client is no browser (curl, a script), and no page made
 * it send anything; the cookie's SameSite=Strict still keeps it from old browsers' cross-site
 * posts.
 */
export function fromOwnPage(c: Context, publicOrigin?: string): boolean {
  const site = c.req.header('sec-fetch-site')
  if (site !== undefined) return site === 'same-origin' || site === 'none'
  const origin = c.req.header('origin')
  if (origin === undefined) return true
  try {
    const from = new URL(origin)
    return from.origin === publicOrigin || from.host === new URL(c.req.url).host
  } catch {
    // `Origin: null` (a sandboxed frame, a redirect across sites) or garbage.
    return false
  }
}

function isTextPlain(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'text/plain'
}

/**
 * CSRF defence for every state-changing route but the collector. What makes CSRF possible is
 * the session cookie, which a browser attaches to any site's request; so a write must come
 * from our own pages (fromOwnPage) unless it carries `Authorization: Bearer`, which no page
 * can make a browser send to another origin (it needs a CORS preflight, and these routes
 * grant none): such a request authenticates by its token, never by the cookie
 * (require-dashboard.ts prefers the header). Sign-in is checked too, though it carries no
 * cookie: another site must not sign a visitor in, nor guess passwords from their browser.
 *
 * `text/plain` bodies are refused outside the collector whatever the origin: it is the one
 * body type a page can post anywhere without a preflight yet that our JSON routes would parse,
 * so refusing it keeps the JSON API out of reach of plain forms even if a check above erred.
 */
export function sameOriginWrites(deps: Pick<AppDeps, 'publicOrigin'>): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.req.path === COLLECTOR_PATH) return next()
    if (!BEARER.test(c.req.header('authorization') ?? '') && !fromOwnPage(c, deps.publicOrigin)) {
      return failure(c, 403, 'cross-site request refused: send it from the dashboard itself')
    }
    if (isTextPlain(c.req.header('content-type'))) {
      return failure(c, 415, 'text/plain bodies are taken by POST /api/events only; send JSON')
    }
    return next()
  }
}
