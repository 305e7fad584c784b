import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { SECURITY_HEADERS } from './security-headers.ts'

/** The one JSON envelope of every answer (docs/design.md, HTTP contract). */
export function success<T>(c: Context, data: T, status: ContentfulStatusCode = 200) {
  return c.json({ status: 'success' as const, data }, status)
}

export function failure(
  c: Context,
  status: ContentfulStatusCode,
  message: string,
  details?: unknown,
) {
  return c.json(
    { status: 'error' as const, message, ...(details === undefined ? {} : { details }) },
    status,
  )
}

/**
 * The error envelope for a request the app never saw (a Lambda event or a Node request the
 * runtime could not turn into a Request), with the headers every answer of the app carries.
 */
export function failureResponse(status: ContentfulStatusCode, message: string): Response {
  const headers = new Headers(SECURITY_HEADERS.map(([name, value]) => [name, value]))
  headers.set('Content-Type', 'application/json')
  return new Response(JSON.stringify({ status: 'error', message }), { status, headers })
}

/** Thrown anywhere in a handler to answer with a given status and message. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** Storage failed: the client should retry, so it is told when (the tracker backs off). */
export function storageUnavailable(what: string): HttpError {
  return new HttpError(503, `${what}; retry`, undefined, { 'Retry-After': '1' })
}
