import type { Context } from 'hono'

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The adapter's test for a payload 2.0 event (hono/aws-lambda isProxyEventV2), so both agree. */
export function isPayloadV2(event: Fields): boolean {
  return (
    Object.hasOwn(event, 'rawPath') &&
    isObject(event.requestContext) &&
    Object.hasOwn(event.requestContext, 'http')
  )
}

/**
 * The path as API Gateway received it, before the adapter's URL parsing resolves dot segments
 * (canonical-path.ts). REST keeps the client's percent-encoding in `path`; HTTP API is
 * reported to decode `rawPath` first (captures cited in
 * https://github.com/middleapi/standard-server/pull/93), so for it an encoded
 * `/api/%65vents` arrives as `/api/events`, and the WAF's URL_DECODE is what covers it.
 */
export function eventRequestPath(c: Context): string | undefined {
  const event = (c.env as { event?: unknown } | undefined)?.event
  if (!isObject(event)) return undefined
  const path = isPayloadV2(event) ? event.rawPath : event.path
  return typeof path === 'string' ? path : undefined
}
