import { randomBytes } from 'node:crypto'
import { Hono } from 'hono'
import { z } from 'zod'
import { isValidTimeZone } from '../../core/calendar.ts'
import { newApiKey } from '../../core/site-keys.ts'
import type { Site } from '../../core/types.ts'
import type { SiteDirectory } from '../../storage/store.ts'
import type { AppEnv, RouteDeps } from '../app-env.ts'

import { HttpError, success } from '../envelope.ts'
import { readBodyText, SMALL_BODY_BYTES } from '../read-body.ts'

type Deps = RouteDeps<SiteDirectory>

export const CreateSiteSchema = z.object({
  name: z.string().trim().min(1).max(100),
  domain: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9.-]+$/, { error: 'must be a host name such as example.com' })
    .max(253),
  timezone: z
    .string()
    .default('UTC')
    .refine(isValidTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin' }),
})

function slug(name: string): string {
  const base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 24)
  return `${base || 'site'}-${randomBytes(3).toString('hex')}`
}

export function siteRoutes(deps: Deps) {
  const app = new Hono<AppEnv>()

  app.get('/', async (c) => success(c, { sites: await deps.store.listSites() }))

  app.post('/', async (c) => {
    const text = await readBodyText(c, SMALL_BODY_BYTES)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new HttpError(400, 'body must be JSON: {"name","domain","timezone"}')
    }
    const parsed = CreateSiteSchema.safeParse(body)
    if (!parsed.success) {
      throw new HttpError(
        400,
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      )
    }
    const site: Site = {
      id: slug(parsed.data.name),
      ...parsed.data,
      api_key: newApiKey(),
      created_at: deps.now(),
    }
    await deps.store.createSite(site)
    return success(c, { site }, 201)
  })

  app.post('/:id/rotate-key', async (c) => {
    const site = await deps.store.getSite(c.req.param('id'))
    if (!site) throw new HttpError(404, 'no such site')
    const apiKey = newApiKey()
    await deps.store.setSiteApiKey(site.id, apiKey)
    return success(c, { site: { ...site, api_key: apiKey } })
  })
  return app
}
