import { RequestError } from '@hono/node-server'
import { failureResponse } from '../http/envelope.ts'
import type { Logger } from '../log/logger.ts'

/**
 * Answers a request @hono/node-server could not turn into a Request, which never reaches the
 * app, as the app would: the envelope and the security headers instead of its bare 400. A
 * backslash in the path is the one refusal it has a name for ('Backslash in request path'):
 * the URL parser would read it as `/`, so it is a path that is not canonical, a 404 as in
 * canonical-path.ts; the rest (no Host, a bad absolute URL) are bad requests.
 */
export function unparsableRequest(logger: Logger): (error: unknown) => Response {
  return (error) => {
    if (!(error instanceof RequestError)) {
      logger.error({ err: error }, 'unhandled error before the app')
      return failureResponse(500, 'internal error')
    }
    logger.info({ reason: error.message }, 'unparsable request refused')
    if (/backslash/i.test(error.message)) {
      return failureResponse(404, 'no route: not a canonical path')
    }
    return failureResponse(400, 'malformed request')
  }
}
