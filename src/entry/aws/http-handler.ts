import type { Hono } from 'hono'
import { type APIGatewayProxyResult, handle, type LambdaEvent } from 'hono/aws-lambda'
import { failureResponse } from '../../http/envelope.ts'
import type { Logger } from '../../log/logger.ts'
import { eventProblem } from './api-gateway-event.ts'

export type HttpHandler = (
  event: LambdaEvent,
  context?: Parameters<ReturnType<typeof handle>>[1],
) => Promise<APIGatewayProxyResult>

/**
 * The app as API Gateway's Lambda handler (hono/aws-lambda), such that no event, however
 * malformed, throws out of the handler or is answered without the app's envelope and
 * security headers: what cannot be a request gets 400. A throw is a function error, which
 * API Gateway turns into a bare 502 (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html)
 * and the Lambda errors alarm counts as a fault of ours; the adapter's own refusals are bare
 * text without our headers.
 */
export function httpHandler(app: Hono<any, any, any>, logger: Logger): HttpHandler {
  const adapter = handle(app)
  return async (event, context) => {
    const problem = eventProblem(event)
    if (problem !== undefined) return refusal(logger, problem)
    let result: APIGatewayProxyResult
    try {
      result = await adapter(event, context)
    } catch (error) {
      return refusal(logger, 'the event is not a request', error)
    }
    // Every answer of the app carries nosniff (security-headers.ts); one without it is the
    // adapter's own, made when the event would not become a Request (a header value with a
    // line break, say).
    if (!hasHeader(result, 'x-content-type-options')) {
      return refusal(logger, 'the event is not a request')
    }
    return result
  }
}

async function refusal(
  logger: Logger,
  problem: string,
  error?: unknown,
): Promise<APIGatewayProxyResult> {
  logger.warn({ problem, ...(error === undefined ? {} : { err: error }) }, 'malformed event')
  const res = failureResponse(400, `malformed request event: ${problem}`)
  // `headers`, valid for both payload versions, needs nothing of the event.
  return {
    statusCode: res.status,
    headers: Object.fromEntries(res.headers),
    body: await res.text(),
    isBase64Encoded: false,
  }
}

function hasHeader(result: APIGatewayProxyResult, name: string): boolean {
  const headers = 'multiValueHeaders' in result ? result.multiValueHeaders : result.headers
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name)
}
