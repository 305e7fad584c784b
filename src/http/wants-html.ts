import type { Context } from 'hono'

/** HTMX requests (and browsers asking for HTML first) get fragments instead of JSON. */
export function wantsHtml(c: Context): boolean {
  if (c.req.header('hx-request') === 'true') return true
  const accept = c.req.header('accept') ?? ''
  return accept.startsWith('text/html')
}
