import { createHash } from 'node:crypto'
import { Hono } from 'hono'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { failure } from '../envelope.ts'

/** A tracker changes only with a deploy; an hour of caching bounds how long an old one lives. */
const CACHE_CONTROL = 'public, max-age=3600'

/** True when an If-None-Match header names this entity tag (weak comparison, RFC 9110 13.1.2). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  const opaque = etag.replace(/^W\//, '')
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag.replace(/^W\//, '') === opaque)
}

/**
 * `GET /liveinsight.js`: the browser tracker, for any site to embed. The script comes from
 * `deps.trackerScript` (the embedded shape reads dist/liveinsight.js); its ETag is a hash of
 * the content, so a new build is picked up by every cache as soon as max-age runs out.
 */
export function trackerRoutes(deps: Pick<AppDeps, 'trackerScript'>) {
  const app = new Hono<AppEnv>()
  let tagged: { script: string; etag: string } | undefined

  app.get('/', (c) => {
    const script = deps.trackerScript()
    if (script === undefined) {
      return failure(c, 503, 'tracker not built: run `npm run build:tracker`')
    }
    if (tagged?.script !== script) {
      const hash = createHash('sha256').update(script).digest('base64url').slice(0, 27)
      tagged = { script, etag: `"${hash}"` }
    }
    c.header('ETag', tagged.etag)
    c.header('Cache-Control', CACHE_CONTROL)
    // Any site may load it, including pages that require CORP or read it with CORS.
    c.header('Access-Control-Allow-Origin', '*')
    c.header('Cross-Origin-Resource-Policy', 'cross-origin')
    c.header('X-Content-Type-Options', 'nosniff')
    if (etagMatches(c.req.header('if-none-match'), tagged.etag)) return c.body(null, 304)
    // Compressed by the app's compress middleware when accepted (its ETag then becomes weak).
    return c.body(script, 200, { 'Content-Type': 'application/javascript; charset=utf-8' })
  })
  return app
}
