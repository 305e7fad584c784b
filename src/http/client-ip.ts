import type { Context } from 'hono'
import type { AppDeps } from './app-env.ts'

/** The visitor's IP: X-Forwarded-For only when the operator says a proxy sets it. */
export function clientIp(c: Context, deps: Pick<AppDeps, 'trustProxy' | 'socketAddress'>): string {
  if (deps.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    if (forwarded) return forwarded
  }
  return deps.socketAddress(c) ?? ''
}

/** CloudFront's viewer country, when the service runs behind it. */
export function viewerCountry(c: Context): string {
  const country = c.req.header('cloudfront-viewer-country')?.trim().toUpperCase() ?? ''
  return /^[A-Z]{2}$/.test(country) ? country : ''
}
