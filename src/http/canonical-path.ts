import type { Context, MiddlewareHandler } from 'hono'
import { failure } from './envelope.ts'

/**
 * Percent-encoded unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`): RFC 3986 §2.3
 * says they are never encoded in a normalised URI, and no client of ours encodes them
 * (encodeURIComponent does not), so `/api/%65vents` is someone spelling `/api/events` so that
 * a filter on the text does not see it.
 */
const ENCODED_UNRESERVED = /%(?:3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|2e|5f|7e)/i
const BAD_PERCENT = /%(?![0-9a-f]{2})/i

/** Decodes as Hono's router does (hono/utils/url getPath): `%25` stays encoded. */
function decodedAsRouted(path: string): string | undefined {
  try {
    return decodeURI(path.replace(/%25/g, '%2525'))
  } catch {
    return undefined
  }
}

/**
 * Why a path as the client sent it is not the one spelling of what the app routes, or
 * undefined when it is. `routed` is the path the router matches (c.req.path): the URL parser
 * (WHATWG) and the router have already resolved `.` and `..`, turned `\` into `/`, dropped
 * tabs and newlines and decoded what decodeURI decodes, so a path that reads as something
 * else before that would slip past whatever in front filters on the raw text (the WAF's
 * per-client limit matches `/api/events`) and still reach the route.
 */
export function nonCanonical(raw: string, routed: string): string | undefined {
  if (!raw.startsWith('/')) return 'not an absolute path'
  if (raw.includes('\\')) return 'a backslash'
  if (raw.includes('//')) return 'an empty segment'
  if (raw.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'a dot segment'
  }
  if (BAD_PERCENT.test(raw)) return 'a malformed percent-encoding'
  if (ENCODED_UNRESERVED.test(raw)) return 'a percent-encoded unreserved character'
  const decoded = decodedAsRouted(raw)
  if (decoded === undefined) return 'a percent-encoding that is not UTF-8'
  if (decoded !== routed) return 'a path that routes as another'
  return undefined
}

/**
 * Answers 404 to a request whose path is not canonical, on every route, before any route or
 * check sees it: such a path names no resource of ours, and refusing it keeps the app's idea
 * of a path the same as the edge's. `rawPath` is the path before the runtime's URL parsing
 * (AppDeps.requestPath); without it, the parsed URL's path is the best there is.
 */
export function canonicalPaths(rawPath?: (c: Context) => string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const raw = rawPath?.(c) ?? new URL(c.req.url).pathname
    const reason = nonCanonical(raw, c.req.path)
    if (reason === undefined) return next()
    c.get('log')?.info({ reason }, 'non-canonical path refused')
    return failure(c, 404, `no route for ${c.req.method} ${c.req.path}: not a canonical path`)
  }
}
