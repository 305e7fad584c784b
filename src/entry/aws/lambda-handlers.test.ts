import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { Context, DynamoDBRecord } from 'aws-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import type { LambdaEvent } from 'hono/aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../config/env.ts'
import { createLogger } from '../../log/logger.ts'
import { type LocalTables, localEndpoint, localTables } from '../../testing/dynamodb.ts'
import { signIn } from '../../testing/sign-in.ts'
import { withoutStoreIds } from '../../testing/store-ids.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { startEmbedded } from '../embedded.ts'
import { createLambdaHandlers, type LambdaHandlers } from './lambda-handlers.ts'
import { lambdaRecordOf } from './stream-poller.ts'

/**
 * The Lambda functions invoked in this process with events shaped as API Gateway and the
 * Events stream's event source mapping deliver them, against DynamoDB Local.
 */
const KEY = 'lambda-test-ingest-key-0001'
const PASSWORD = 'lambda-test-password'
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const context = { awsRequestId: 'test', functionName: 'liveinsight-http' } as Context
const NOW = Date.now()

/** A REST API (v1) proxy event, as API Gateway sends it behind CloudFront. */
function restEvent(method: string, path: string, headers: Record<string, string>, body?: string) {
  const [route, query = ''] = path.split('?')
  const params = Object.fromEntries(new URLSearchParams(query))
  return {
    resource: '/{proxy+}',
    path: route,
    httpMethod: method,
    headers: { host: 'abc123.execute-api.ap-northeast-2.amazonaws.com', ...headers },
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query ? params : null,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: { proxy: route?.slice(1) ?? '' },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      httpMethod: method,
      identity: { sourceIp: '130.176.1.10', userAgent: headers['user-agent'] ?? '' },
      path: `/prod${route}`,
      protocol: 'HTTP/1.1',
      requestId: `req-${Math.random()}`,
      requestTimeEpoch: NOW,
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
    body: body ?? null,
    isBase64Encoded: false,
  } as unknown as LambdaEvent
}

/** An HTTP API (v2) event. */
function httpApiEvent(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  const [route, query = ''] = path.split('?')
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: route,
    rawQueryString: query,
    headers: { host: 'xyz.execute-api.ap-northeast-2.amazonaws.com', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'xyz',
      domainName: 'xyz.execute-api.ap-northeast-2.amazonaws.com',
      http: { method, path: route, protocol: 'HTTP/1.1', sourceIp: '130.176.1.11', userAgent: '' },
      requestId: `req-${Math.random()}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date(NOW).toISOString(),
      timeEpoch: NOW,
    },
    body,
    isBase64Encoded: false,
  } as unknown as LambdaEvent
}

const pv = (session: string, minutesAgo: number, path: string) => ({
  session_id: session,
  event_id: `${session}-${minutesAgo}`,
  timestamp: NOW - minutesAgo * 60_000,
  event_type: 'page_view',
  page_url: `https://shop.example${path}`,
})

/** The requests the first test sends, in order (the second sends them to the embedded shape). */
const SENT = [[pv('tab-1', 10, '/'), pv('tab-1', 8, '/pricing')], [pv('tab-2', 2, '/docs')]]

describe('the Lambda handlers, invoked as AWS invokes them', () => {
  let local: LocalTables
  let handlers: LambdaHandlers
  let token = ''

  beforeAll(async () => {
    local = await localTables()
    handlers = await createLambdaHandlers({
      DYNAMODB_ENDPOINT: localEndpoint(),
      EVENTS_TABLE: local.tables.events,
      SESSIONS_TABLE: local.tables.sessions,
      STATS_TABLE: local.tables.stats,
      STATE_TABLE: local.tables.state,
      API_KEY: KEY,
      ADMIN_PASSWORD: PASSWORD,
      STATS_CACHE_SECONDS: '0',
      TRUST_PROXY: '2',
      LOG_LEVEL: 'silent',
    })
  })
  afterAll(async () => {
    await local.drop()
  })

  const collect = (events: object[]) => ({
    'content-type': 'text/plain',
    'x-api-key': KEY,
    'user-agent': CHROME,
    // CloudFront appends the viewer, API Gateway appends CloudFront: two from the right.
    'x-forwarded-for': '198.51.100.7, 130.176.1.10',
    'cloudfront-viewer-country': 'KR',
    body: JSON.stringify({ events }),
  })

  it('collects through REST and HTTP API events, rolls up from the stream, answers reads', async () => {
    const { body: restBody, ...restHeaders } = collect(SENT[0] ?? [])
    const rest = await handlers.http(
      restEvent('POST', '/api/events', restHeaders, restBody),
      context,
    )
    expect(rest.statusCode).toBe(200)
    expect(JSON.parse(rest.body)).toMatchObject({ status: 'success', data: { accepted: 2 } })
    const { body: v2Body, ...v2Headers } = collect(SENT[1] ?? [])
    const v2 = await handlers.http(httpApiEvent('POST', '/api/events', v2Headers, v2Body), context)
    expect(v2.statusCode).toBe(200)
    // A retry of the same request is stored once.
    const retry = await handlers.http(
      httpApiEvent('POST', '/api/events', v2Headers, v2Body),
      context,
    )
    expect(JSON.parse(retry.body)).toMatchObject({ data: { accepted: 1, duplicates: 1 } })

    // The stream's records, as the event source mapping hands them over.
    const { stream } = local.backlog()
    const arn = await stream.sourceArn()
    const records: DynamoDBRecord[] = []
    for (const shard of await stream.shards()) {
      for await (const page of stream.records(shard)) {
        records.push(...page.map((r) => lambdaRecordOf(r, arn, 'ap-northeast-2')))
      }
    }
    expect(records).toHaveLength(3)
    expect(await handlers.rollup({ Records: records })).toEqual({ batchItemFailures: [] })

    const login = await handlers.http(
      restEvent(
        'POST',
        '/api/auth/login',
        { 'content-type': 'application/json' },
        JSON.stringify({ password: PASSWORD }),
      ),
      context,
    )
    expect(login.statusCode).toBe(200)
    token = JSON.parse(login.body).data.token
    const auth = { authorization: `Bearer ${token}`, accept: 'application/json' }

    const stats = await handlers.http(
      httpApiEvent('GET', '/api/stats?site=default&period=24h', auth),
      context,
    )
    expect(stats.statusCode).toBe(200)
    const summary = JSON.parse(stats.body).data.summary
    expect(summary.pageviews.value).toBe(3)
    expect(summary.sessions.value).toBe(2)
    expect(summary.visitors.value).toBe(1)
    expect(summary.bounce_rate.value).toBe(0.5)

    const realtime = await handlers.http(
      restEvent('GET', '/api/realtime?site=default', auth),
      context,
    )
    const live = JSON.parse(realtime.body).data
    expect(live.active_visitors).toBe(1)
    expect(live.countries).toEqual([{ country: 'KR', visitors: 1 }])

    const timeline = await handlers.http(
      httpApiEvent('GET', `/api/sessions/tab-1?site=default&at=${NOW - 9 * 60_000}`, auth),
      context,
    )
    expect(JSON.parse(timeline.body).data.events.map((e: { path: string }) => e.path)).toEqual([
      '/',
      '/pricing',
    ])
  })

  it('answers as the embedded shape does for the same requests', async () => {
    const dir = tempDir()
    const embedded = await startEmbedded(
      parseConfig({
        PORT: '0',
        DATA_DIR: dir.path,
        API_KEY: KEY,
        ADMIN_PASSWORD: PASSWORD,
        STATS_CACHE_SECONDS: '0',
        TRUST_PROXY: '2',
        SQLITE_SYNCHRONOUS: 'NORMAL',
      }),
      createLogger('silent'),
      { pipeline: 'in-process' },
    )
    try {
      for (const events of SENT) {
        const { body, ...headers } = collect(events)
        const res = await fetch(`${embedded.url}/api/events`, { method: 'POST', headers, body })
        expect(res.status).toBe(200)
      }
      await embedded.settle()
      const embeddedToken = await signIn(embedded.url, PASSWORD)
      for (const path of [
        '/api/stats?site=default&period=24h',
        '/api/stats?site=default&period=today&compare=previous',
        '/api/realtime?site=default',
        `/api/sessions/tab-1?site=default&at=${NOW - 9 * 60_000}`,
      ]) {
        const fromLambda = await handlers.http(
          httpApiEvent('GET', path, {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
          }),
          context,
        )
        const fromNode = await fetch(`${embedded.url}${path}`, {
          headers: { authorization: `Bearer ${embeddedToken}`, accept: 'application/json' },
        })
        expect(fromLambda.statusCode, path).toBe(fromNode.status)
        // Each answer says when it was made (the two are moments apart).
        const answer = (body: { data?: { generated_at?: string } }) =>
          withoutStoreIds({ ...body, data: { ...body.data, generated_at: '*' } })
        expect(answer(JSON.parse(fromLambda.body)), path).toEqual(
          answer((await fromNode.json()) as { data?: { generated_at?: string } }),
        )
      }
    } finally {
      await embedded.close()
      dir.remove()
    }
  })

  it('answers bad input with the error envelope, and the sweep runs on schedule', async () => {
    const bad = await handlers.http(
      restEvent(
        'POST',
        '/api/events',
        { 'x-api-key': KEY, 'content-type': 'application/json' },
        '{"events":',
      ),
      context,
    )
    expect(bad.statusCode).toBe(400)
    expect(JSON.parse(bad.body).status).toBe('error')
    const noKey = await handlers.http(httpApiEvent('GET', '/api/stats?site=default', {}), context)
    expect(noKey.statusCode).toBe(401)
    // No SSE here: the dashboard polls, and a stream would hold an invocation open.
    const stream = await handlers.http(
      httpApiEvent('GET', '/api/realtime/stream?site=default', {
        authorization: `Bearer ${token}`,
      }),
      context,
    )
    expect(stream.statusCode).toBe(404)
    expect(JSON.parse(stream.body).message).toMatch(/poll \/api\/realtime/)
    expect(await handlers.sweep()).toMatchObject({ events: 0 })
  })

  it('reads the dashboard password from SSM Parameter Store at a cold start', async () => {
    // SSM has no local emulator: its answer is injected, the rest is DynamoDB Local.
    const ssm = mockClient(SSMClient)
    ssm
      .on(GetParameterCommand, { Name: '/liveinsight/test/admin-password', WithDecryption: true })
      .resolves({ Parameter: { Value: 'password-from-ssm' } })
    const tables = await localTables()
    try {
      const fromSsm = await createLambdaHandlers({
        DYNAMODB_ENDPOINT: localEndpoint(),
        EVENTS_TABLE: tables.tables.events,
        SESSIONS_TABLE: tables.tables.sessions,
        STATS_TABLE: tables.tables.stats,
        STATE_TABLE: tables.tables.state,
        ADMIN_PASSWORD_PARAMETER: '/liveinsight/test/admin-password',
        LOG_LEVEL: 'silent',
      })
      const signIn = (password: string) =>
        fromSsm.http(
          restEvent(
            'POST',
            '/api/auth/login',
            { 'content-type': 'application/json' },
            JSON.stringify({ password }),
          ),
          context,
        )
      expect((await signIn('password-from-ssm')).statusCode).toBe(200)
      expect((await signIn('some-other-password')).statusCode).toBe(401)
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1)
    } finally {
      ssm.restore()
      await tables.drop()
    }
  })
})

/**
 * Each `createLambdaHandlers` call is a container of its own, as Lambda starts them: the
 * lockout must hold across them, so it lives in the State table, not in a container's memory.
 */
describe('the sign-in lockout, shared by every container', () => {
  const ATTACKER = '198.51.100.66'
  const OWNER = '203.0.113.7'
  let local: LocalTables
  const container = () =>
    createLambdaHandlers({
      DYNAMODB_ENDPOINT: localEndpoint(),
      EVENTS_TABLE: local.tables.events,
      SESSIONS_TABLE: local.tables.sessions,
      STATS_TABLE: local.tables.stats,
      STATE_TABLE: local.tables.state,
      API_KEY: KEY,
      ADMIN_PASSWORD: PASSWORD,
      TRUST_PROXY: '2',
      LOG_LEVEL: 'silent',
    })

  beforeAll(async () => {
    local = await localTables()
  })
  afterAll(async () => {
    await local.drop()
  })

  /** A JSON sign-in from `ip`, behind CloudFront and API Gateway, with a device cookie if any. */
  const signInFrom = (ip: string, password: string, device?: string) =>
    restEvent(
      'POST',
      '/api/auth/login',
      {
        'content-type': 'application/json',
        'x-forwarded-for': `${ip}, 130.176.1.10`,
        ...(device ? { cookie: `li_device=${device}` } : {}),
      },
      JSON.stringify({ password }),
    )
  const deviceCookieOf = (answer: { multiValueHeaders?: Record<string, string[]> }) => {
    const cookie = answer.multiValueHeaders?.['set-cookie']?.find((c) => c.startsWith('li_device='))
    if (!cookie) throw new Error('no device cookie in the answer')
    return cookie.slice('li_device='.length).split(';')[0] ?? ''
  }

  it('lets a 20-guess burst over two containers check as many guesses as one allows, and a new container still refuses', async () => {
    const one = await container()
    const two = await container()
    const owner = await one.http(signInFrom(OWNER, PASSWORD), context)
    expect(owner.statusCode).toBe(200)
    let device = deviceCookieOf(owner)

    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? one : two).http(signInFrom(ATTACKER, `guess-${i}`), context),
      ),
    )
    const statuses = burst.map((answer) => answer.statusCode)
    // Five checked (wrong password), as one container alone allows; the rest refused unread.
    expect(statuses.filter((s) => s === 401)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(15)

    const fresh = await container()
    const refused = await fresh.http(signInFrom(ATTACKER, PASSWORD), context)
    expect(refused.statusCode).toBe(429)
    expect(Number(refused.multiValueHeaders?.['retry-after']?.[0])).toBeGreaterThan(0)
    // The dashboard's form counts against the same lockout.
    const form = await fresh.http(
      restEvent(
        'POST',
        '/login',
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': `${ATTACKER}, 130.176.1.10`,
        },
        new URLSearchParams({ password: PASSWORD }).toString(),
      ),
      context,
    )
    expect(form.statusCode).toBe(429)

    // The owner's browser, from the attacker's address (a shared one), with the device cookie
    // the first container issued: its key is in the store, so every container trusts it.
    for (const other of [two, fresh]) {
      const answer = await other.http(signInFrom(ATTACKER, PASSWORD, device), context)
      expect(answer.statusCode).toBe(200)
      device = deviceCookieOf(answer)
    }
  })
})
