import { randomBytes } from 'node:crypto'

/** The site that exists from the first start; the demo pages and the default setup use it. */
export const DEFAULT_SITE_ID = 'default'

/** A new ingest key; pure apart from the randomness, so http and entry can both use it. */
export function newApiKey(): string {
  return `li_${randomBytes(18).toString('base64url')}`
}
