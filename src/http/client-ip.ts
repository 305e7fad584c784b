import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Context } from 'hono'
import type { AppDeps } from './app-env.ts'

type ProxyDeps = Pick<AppDeps, 'trustProxy'>

/**
 * The entry `hops` places from the right of a comma-separated forwarding header, as
 * Express's `trust proxy` counts: each proxy appends what it saw to the right, so only the
 * entries the `hops` proxies appended can be trusted, and the client is the one the farthest
 * of them appended. Anything further left came from the client and is ignored: taking the
 * leftmost entry let any client choose its own address (a new one for every password guess).
 * With fewer entries than hops (the request skipped a proxy) it is the leftmost entry, as in
 * Express; undefined without the header or with no proxy trusted.
 */
export function forwardedEntry(header: string | undefined, hops: number): string | undefined {
  if (!header || hops < 1) return undefined
  const entries = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  return entries[Math.max(0, entries.length - hops)]
}

/** The visitor's IP: from X-Forwarded-For only when TRUST_PROXY says proxies append it. */
export function clientIp(c: Context, deps: ProxyDeps & Pick<AppDeps, 'socketAddress'>): string {
  return (
    forwardedEntry(c.req.header('x-forwarded-for'), deps.trustProxy) ?? deps.socketAddress(c) ?? ''
  )
}

/**
 * CloudFront's viewer country, only behind a trusted proxy: without one any client could
 * send the header and pick the country it is counted in.
 */
export function viewerCountry(c: Context, deps: ProxyDeps): string {
  if (deps.trustProxy < 1) return ''
  const country = c.req.header('cloudfront-viewer-country')?.trim().toUpperCase() ?? ''
  return /^[A-Z]{2}$/.test(country) ? country : ''
}

/**
 * Whether the client's request came over HTTPS: told by the trusted proxy's
 * X-Forwarded-Proto (counted from the right as X-Forwarded-For is) when TRUST_PROXY says one
 * is in front, else by the connection itself. Under Node that is the socket, not the request
 * URL, which a client can make https by sending an absolute URL as the request target.
 */
export function isHttps(c: Context, deps: ProxyDeps): boolean {
  const forwarded = forwardedEntry(c.req.header('x-forwarded-proto'), deps.trustProxy)
  if (forwarded) return forwarded.toLowerCase() === 'https'
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming?.socket) return (incoming.socket as TLSSocket).encrypted === true
  return new URL(c.req.url).protocol === 'https:'
}
