import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { DIST_DIR } from '../../config/app-root.ts'
import type { AppEnv } from '../app-env.ts'
import { failure } from '../envelope.ts'

/** Built by `npm run build:dashboard`; nothing comes from a CDN. */
const DEFAULT_DIST = DIST_DIR

/** The files under /assets/NAME, by name: also how the AWS shape lays them out on S3. */
export const ASSETS: Record<string, { file: string; type: string }> = {
  'dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  'dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  'demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  'htmx.min.js': { file: 'vendor/htmx.min.js', type: 'text/javascript; charset=utf-8' },
  'chart.umd.js': { file: 'vendor/chart.umd.js', type: 'text/javascript; charset=utf-8' },
}

interface Loaded {
  body: Uint8Array<ArrayBuffer>
  type: string
  etag: string
}

/** Reads every asset once: they change only with a new build, which means a restart. */
function load(dir: string, onMissing: (file: string) => void): Map<string, Loaded> {
  const loaded = new Map<string, Loaded>()
  for (const [name, { file, type }] of Object.entries(ASSETS)) {
    try {
      const body = new Uint8Array(readFileSync(join(dir, file)))
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
      loaded.set(name, { body, type, etag })
    } catch {
      onMissing(file)
    }
  }
  return loaded
}

export function assetRoutes(options: { dir?: string; onMissing?: (file: string) => void } = {}) {
  const assets = load(options.dir ?? DEFAULT_DIST, options.onMissing ?? (() => {}))
  const app = new Hono<AppEnv>()
  app.get('/:name', (c) => {
    const asset = assets.get(c.req.param('name'))
    if (!asset) return failure(c, 404, 'no such asset (run npm run build:dashboard)')
    c.header('ETag', asset.etag)
    // An hour, then a cheap revalidation by ETag: file names carry no content hash.
    c.header('Cache-Control', 'public, max-age=3600')
    c.header('X-Content-Type-Options', 'nosniff')
    // Compression weakens the tag (W/"…"); a weak match is enough to revalidate a GET.
    const tags = (c.req.header('if-none-match') ?? '')
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
    if (tags.includes(asset.etag)) return c.body(null, 304)
    c.header('Content-Type', asset.type)
    return c.body(asset.body)
  })
  return app
}
