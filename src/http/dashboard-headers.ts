import type { Context } from 'hono'
import type { SafeHtml } from '../dashboard/html.ts'

/**
 * Scripts and styles only from this origin: with every value escaped by `html` this is the
 * second wall against injected markup. No inline scripts or style attributes anywhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ')

/**
 * Every dashboard and demo HTML answer goes through here, so none misses its policy. The
 * headers every answer carries (nosniff, framing, referrer) come from security-headers.ts.
 */
export function htmlPage(c: Context, body: SafeHtml, status: 200 | 400 | 401 | 404 | 429 = 200) {
  c.header('Content-Security-Policy', DASHBOARD_CSP)
  // Pages depend on the cookie; a shared cache must never hand one person's page to another.
  c.header('Cache-Control', 'private, no-store')
  return c.html(body.html, status)
}
