import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Context } from 'hono'
import type { AppDeps } from './app-env.ts'

type ProxyDeps = Pick<AppDeps, 'trustProxy'>
type AddressDeps = ProxyDeps & Pick<AppDeps, 'socketAddress' | 'clientAddressHeader'>

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

/**
 * An address as proxies may write it, reduced to the address alone: a port after an IPv4
 * (`192.0.2.1:1234`), brackets around an IPv6 with or without a port (`[2001:db8::1]:443`),
 * an IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as its IPv4. Each port must not count as a client
 * of its own, nor every bracketed form as one client. Anything else is returned as it is.
 */
export function bareAddress(raw: string): string {
  const entry = raw.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry)
  const address = bracketed?.[1] ?? /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry)?.[1] ?? entry
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1]
  if (mapped) return mapped
  return isIP(address) === 6 ? address.toLowerCase() : address
}

/**
 * A viewer address as CloudFront-Viewer-Address writes it, the address then its port after
 * the last colon, IPv6 without brackets (`2001:db8::1:46532`): the address alone, or
 * undefined when it is not one.
 */
export function viewerAddress(raw: string | undefined): string | undefined {
  const entry = raw?.trim() ?? ''
  const colon = entry.lastIndexOf(':')
  if (colon < 0 || !/^\d{1,5}$/.test(entry.slice(colon + 1))) return undefined
  const address = entry.slice(0, colon)
  return isIP(address) === 0 ? undefined : bareAddress(address)
}

/**
 * The visitor's IP: the trusted proxy's viewer-address header where CLIENT_ADDRESS_HEADER
 * names one, else X-Forwarded-For when TRUST_PROXY says proxies append it, else the socket.
 */
export function clientIp(c: Context, deps: AddressDeps): string {
  const viewer =
    deps.clientAddressHeader && deps.trustProxy >= 1
      ? viewerAddress(c.req.header(deps.clientAddressHeader))
      : undefined
  return (
    viewer ??
    bareAddress(
      forwardedEntry(c.req.header('x-forwarded-for'), deps.trustProxy) ??
        deps.socketAddress(c) ??
        '',
    )
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
