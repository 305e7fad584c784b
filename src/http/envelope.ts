import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

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
