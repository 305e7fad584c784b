/**
 * The collector as the event-collector function runs it: the Lambda handlers
 * (src/entry/aws/lambda-handlers.ts) built in this process against the bench's tables, with
 * the settings infra/terraform gives the functions (TRUST_PROXY 2, origin secrets, no rate
 * limit), and invoked with the event API Gateway hands the function: no HTTP server, no
 * client, no socket. Its CPU a request is the function's own: what an in-process HTTP server
 * adds (Node's parsing, the Request made of it, the bench's fetch) does not run on Lambda.
 *
 * The events are payload 2.0, as the HTTP API and a function URL send them (a REST API's
 * 1.0 event becomes the same Request in hono/aws-lambda). Their headers are the replay's
 * (key, user agent, content type) with what the hops add: CloudFront's X-Origin-Verify, and
 * X-Forwarded-For with CloudFront's address after the viewer's, so the client address, and
 * the items written, are those of the HTTP replay.
 */
import type { APIGatewayProxyResult, LambdaEvent } from 'hono/aws-lambda'
import { createLambdaHandlers } from '../../src/entry/aws/lambda-handlers.ts'
import type { TableNames } from '../../src/storage/dynamodb/tables.ts'

const ORIGIN_SECRET = 'bench-aws-cost-origin-secret-0123456789abcdef'
const HOST = 'abc123.execute-api.ap-northeast-2.amazonaws.com'
const CLOUDFRONT = '130.176.1.10'

export interface CollectorRequest {
  body: string
  ip: string
  ua: string
}

export interface LambdaCollector {
  /** The event of a request: made before the call, as API Gateway makes it. */
  event: (r: CollectorRequest) => LambdaEvent
  /** One invocation of the function's handler. */
  invoke: (event: LambdaEvent) => Promise<APIGatewayProxyResult>
}

/** An HTTP API (payload 2.0) event of a collector POST, as it reaches the function. */
export function collectorEvent(r: CollectorRequest, apiKey: string): LambdaEvent {
  const now = Date.now()
  const requestId = `bench-${now}-${Math.random().toString(36).slice(2)}`
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/api/events',
    rawQueryString: '',
    headers: {
      host: HOST,
      'content-length': String(Buffer.byteLength(r.body)),
      'content-type': 'text/plain;charset=UTF-8',
      'user-agent': r.ua,
      'x-api-key': apiKey,
      'x-origin-verify': ORIGIN_SECRET,
      // CloudFront appends the viewer, API Gateway appends CloudFront: two from the right.
      'x-forwarded-for': `${r.ip}, ${CLOUDFRONT}`,
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      'x-amzn-trace-id': `Root=1-${now.toString(16)}-${requestId.slice(-24)}`,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: HOST,
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/api/events',
        protocol: 'HTTP/1.1',
        sourceIp: CLOUDFRONT,
        userAgent: 'Amazon CloudFront',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: r.body,
    isBase64Encoded: false,
  } as unknown as LambdaEvent
}

/**
 * A warm container's collector: the handlers are built (the INIT phase, timed apart by
 * lambda-init.ts), then each call is one invocation.
 */
export async function startLambdaCollector(o: {
  endpoint: string
  tables: TableNames
  apiKey: string
  password: string
  logLevel: string
}): Promise<LambdaCollector> {
  const handlers = await createLambdaHandlers({
    DYNAMODB_ENDPOINT: o.endpoint,
    EVENTS_TABLE: o.tables.events,
    SESSIONS_TABLE: o.tables.sessions,
    STATE_TABLE: o.tables.state,
    API_KEY: o.apiKey,
    ADMIN_PASSWORD: o.password,
    ORIGIN_SECRETS: ORIGIN_SECRET,
    PUBLIC_ORIGIN: 'https://analytics.example.com',
    TRUST_PROXY: '2',
    STATS_CACHE_SECONDS: '30',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: o.logLevel,
  })
  let invocation = 0
  return {
    event: (r) => collectorEvent(r, o.apiKey),
    invoke: (event) =>
      handlers.http(event, {
        awsRequestId: `bench-${++invocation}`,
        functionName: 'liveinsight-event-collector',
      } as never),
  }
}
