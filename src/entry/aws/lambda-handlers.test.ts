import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { Context } from 'aws-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import type { LambdaEvent } from 'hono/aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../config/env.ts'
import { ORIGIN_SECRET_HEADER } from '../../http/origin-check.ts'
import { SESSION_COOKIE } from '../../http/require-dashboard.ts'
import { createLogger } from '../../log/logger.ts'
import { type LocalTables, localEndpoint, localTables } from '../../testing/dynamodb.ts'
import { NON_CANONICAL_COLLECTOR_PATHS } from '../../testing/non-canonical-paths.ts'
import { signIn } from '../../testing/sign-in.ts'
import { withoutStoreIds } from '../../testing/store-ids.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { startEmbedded } from '../embedded.ts'
import { createLambdaHandlers, type LambdaHandlers } from './lambda-handlers.ts'

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
      domainName: 'abc123.execute-api.ap-northeast-2.amazonaws.com',
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

/** What every handler here is given: DynamoDB Local's tables and the site's ingest key. */
function tableSettings(local: LocalTables) {
  return {
    DYNAMODB_ENDPOINT: localEndpoint(),
    EVENTS_TABLE: local.tables.events,
    SESSIONS_TABLE: local.tables.sessions,
    STATE_TABLE: local.tables.state,
    API_KEY: KEY,
  }
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
      ...tableSettings(local),
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

    // The stream's records, as the event source mapping hands them over: one per request.
    const records = await local.streamRecords()
    expect(records).toHaveLength(2)
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
    expect(await handlers.sweep()).toMatchObject({ events: 0, packed: { days: 0 } })
  })

  /** The security headers every answer carries (src/http/security-headers.ts). */
  function expectHardenedError(
    result: Awaited<ReturnType<LambdaHandlers['http']>>,
    status: number,
    what: string,
  ) {
    expect(result.statusCode, what).toBe(status)
    expect(JSON.parse(result.body), what).toMatchObject({ status: 'error' })
    const raw = 'multiValueHeaders' in result ? result.multiValueHeaders : result.headers
    const headers = Object.fromEntries(
      Object.entries(raw ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    )
    expect(headers['content-type'], what).toMatch(/application\/json/)
    expect(headers['x-content-type-options'], what).toBe('nosniff')
    expect(headers['x-frame-options'], what).toBe('DENY')
    expect(headers['content-security-policy'], what).toContain("default-src 'none'")
  }

  it('answers a path that is not canonical with 404 and stores nothing, REST and HTTP API', async () => {
    const since = Date.now() - 60 * 60_000
    for (const [i, path] of NON_CANONICAL_COLLECTOR_PATHS.entries()) {
      const { body: restBody, ...restHeaders } = collect([pv(`odd-rest-${i}`, 1, '/')])
      expectHardenedError(
        await handlers.http(restEvent('POST', path, restHeaders, restBody), context),
        404,
        `REST ${path}`,
      )
      const { body: v2Body, ...v2Headers } = collect([pv(`odd-v2-${i}`, 1, '/')])
      expectHardenedError(
        await handlers.http(httpApiEvent('POST', path, v2Headers, v2Body), context),
        404,
        `HTTP API ${path}`,
      )
    }
    const sessions = (await handlers.store.liveEventsSince('default', since, 1000)).map(
      (e) => e.session_id,
    )
    expect(sessions.filter((s) => s.startsWith('odd-'))).toEqual([])
    // The same body at the canonical path is stored: only the path was refused.
    const { body, ...headers } = collect([pv('odd-canonical', 1, '/')])
    const plain = await handlers.http(restEvent('POST', '/api/events', headers, body), context)
    expect(JSON.parse(plain.body)).toMatchObject({ data: { accepted: 1 } })
    // A user id that needs encoding (`@`, `%`, a space) still reaches its route through REST,
    // which keeps the client's encoding in `path`.
    const user = await handlers.http(
      restEvent('GET', `/api/users/${encodeURIComponent('a b@50%')}/sessions?site=default`, {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
      }),
      context,
    )
    expect(user.statusCode).toBe(200)
    expect(JSON.parse(user.body).data.sessions).toEqual([])
  })

  it('answers a malformed event with 400 and the security headers, never a throw', async () => {
    // Whatever arrives: Lambda hands the function any JSON it was invoked with.
    const asEvent = (event: unknown) => event as LambdaEvent
    const good = { ...restEvent('POST', '/api/events', { 'x-api-key': KEY }, '{}') }
    const goodV2 = { ...httpApiEvent('GET', '/health', {}) }
    const malformed: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'GET /health'],
      ['an array', []],
      ['no requestContext', { ...good, requestContext: undefined }],
      ['requestContext null', { ...good, requestContext: null }],
      ['no httpMethod', { ...good, httpMethod: undefined }],
      ['an httpMethod that is not a token', { ...good, httpMethod: 'GET /x' }],
      ['no path', { ...good, path: undefined }],
      ['a path not starting with /', { ...good, path: '@evil.example/api/events' }],
      ['invalid base64', { ...good, body: '***not base64***', isBase64Encoded: true }],
      ['a body that is not a string', { ...good, body: { events: [] } }],
      ['a numeric body', { ...good, body: 42 }],
      ['isBase64Encoded not a boolean', { ...good, isBase64Encoded: 'yes' }],
      ['a header that is not a string', { ...good, headers: { 'x-api-key': ['a', 'b'] } }],
      ['multiValueHeaders not lists', { ...good, multiValueHeaders: { 'x-api-key': KEY } }],
      ['a header value with a line break', { ...good, headers: { 'x-note': 'a\r\nb' } }],
      [
        'a multi-value header value with a NUL',
        { ...good, multiValueHeaders: { 'x-note': ['ok', 'a\u0000b'] } },
      ],
      ['query parameters not strings', { ...good, queryStringParameters: { site: 1 } }],
      ['a GET with a body', { ...good, httpMethod: 'GET', body: 'x' }],
      ['HTTP API without a method', { ...goodV2, requestContext: { http: {} } }],
      ['HTTP API rawPath not a string', { ...goodV2, rawPath: 7 }],
      ['HTTP API cookies not strings', { ...goodV2, cookies: [1] }],
    ]
    for (const [what, event] of malformed) {
      const result = await handlers.http(asEvent(event), context)
      expectHardenedError(result, 400, what)
      // Refused before the adapter, which would print its stack trace to the function's log.
      if (what.includes('header value')) {
        expect(JSON.parse(result.body).message, what).toMatch(/line break or NUL/)
      }
    }
    // The well-formed neighbours of those events are answered by the app.
    expect((await handlers.http(asEvent(goodV2), context)).statusCode).toBe(200)
    const base64 = { ...good, body: Buffer.from('{"events":[]}').toString('base64') }
    const decoded = await handlers.http(asEvent({ ...base64, isBase64Encoded: true }), context)
    expect(JSON.parse(decoded.body).message).not.toMatch(/malformed request event/)
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

/** Every stream record the Events table holds: what the collector stored. */
async function storedEvents(local: LocalTables): Promise<number> {
  const { stream } = local.backlog()
  let count = 0
  for (const shard of await stream.shards()) {
    for await (const page of stream.records(shard)) count += page.length
  }
  return count
}

describe('behind CloudFront: the origin secret and the public origin', () => {
  // Two secrets in SSM, as Terraform writes them during a rotation (one a line), read by
  // version; the distribution sends CURRENT, and PREVIOUS from edges not yet updated.
  const CURRENT = 'current-origin-secret-0123456789abcdef0123'
  const PREVIOUS = 'previous-origin-secret-0123456789abcdef012'
  const PUBLIC = 'https://d111111abcdef8.cloudfront.net'
  let local: LocalTables
  let handlers: LambdaHandlers
  let ssm: ReturnType<typeof mockClient>

  beforeAll(async () => {
    // SSM has no local emulator: its answers are injected, the rest is DynamoDB Local.
    ssm = mockClient(SSMClient)
    ssm
      .on(GetParameterCommand, { Name: '/liveinsight/test/admin-password', WithDecryption: true })
      .resolves({ Parameter: { Value: PASSWORD } })
      .on(GetParameterCommand, { Name: '/liveinsight/test/origin-secrets:3', WithDecryption: true })
      .resolves({ Parameter: { Value: `${CURRENT}\n${PREVIOUS}` } })
    local = await localTables()
    handlers = await createLambdaHandlers({
      ...tableSettings(local),
      ADMIN_PASSWORD_PARAMETER: '/liveinsight/test/admin-password',
      ORIGIN_SECRET_PARAMETER: '/liveinsight/test/origin-secrets:3',
      PUBLIC_ORIGIN: PUBLIC,
      TRUST_PROXY: '2',
      LOG_LEVEL: 'silent',
    })
  })
  afterAll(async () => {
    ssm.restore()
    await local.drop()
  })

  const beacon = (session: string, headers: Record<string, string>, body?: string) =>
    restEvent(
      'POST',
      '/api/events',
      {
        'content-type': 'text/plain',
        'x-api-key': KEY,
        'user-agent': CHROME,
        'x-forwarded-for': '198.51.100.7, 130.176.1.10',
        ...headers,
      },
      body ?? JSON.stringify({ events: [pv(session, 1, '/')] }),
    )

  it('refuses a request that skipped CloudFront, before reading its body, and stores nothing', async () => {
    // Straight to the execute-api URL with no mark or a wrong one, and an X-Forwarded-For
    // that TRUST_PROXY=2 would believe.
    const attempts: Record<string, string>[] = [
      {},
      { [ORIGIN_SECRET_HEADER]: 'a-guess-at-the-origin-secret-0123456789ab' },
      { [ORIGIN_SECRET_HEADER]: `${CURRENT}x` },
      { [ORIGIN_SECRET_HEADER]: '' },
    ]
    for (const headers of attempts) {
      const res = await handlers.http(beacon('direct', headers), context)
      expect(res.statusCode).toBe(403)
      expect(JSON.parse(res.body)).toEqual({
        status: 'error',
        message: 'requests reach this service through its CDN only',
      })
      // A REST event is answered with multi-value headers.
      const header = (name: string) => res.headers?.[name] ?? res.multiValueHeaders?.[name]?.[0]
      expect(header('x-content-type-options')).toBe('nosniff')
      expect(header('content-security-policy')).toContain("default-src 'none'")
    }
    // A body that would be a 400 is a 403: the body was never read.
    const malformed = await handlers.http(beacon('direct', {}, '{"events":'), context)
    expect(malformed.statusCode).toBe(403)
    // Sign-in and every other route too, with the right password.
    const login = await handlers.http(
      restEvent(
        'POST',
        '/api/auth/login',
        { 'content-type': 'application/json' },
        JSON.stringify({ password: PASSWORD }),
      ),
      context,
    )
    expect(login.statusCode).toBe(403)
    const health = await handlers.http(httpApiEvent('GET', '/health', {}), context)
    expect(health.statusCode).toBe(403)
    expect(await storedEvents(local)).toBe(0)
  })

  it('serves requests CloudFront marked, with the current secret or the previous one', async () => {
    const current = await handlers.http(
      beacon('via-cloudfront', { [ORIGIN_SECRET_HEADER]: CURRENT }),
      context,
    )
    expect(current.statusCode).toBe(200)
    expect(JSON.parse(current.body)).toMatchObject({ data: { accepted: 1 } })
    // An edge that has not received the rotated configuration yet still sends the previous.
    const previous = await handlers.http(
      beacon('via-old-edge', { [ORIGIN_SECRET_HEADER]: PREVIOUS }),
      context,
    )
    expect(previous.statusCode).toBe(200)
    const v2 = await handlers.http(
      httpApiEvent(
        'POST',
        '/api/events',
        { 'content-type': 'text/plain', 'x-api-key': KEY, [ORIGIN_SECRET_HEADER]: CURRENT },
        JSON.stringify({ events: [pv('via-http-api', 1, '/')] }),
      ),
      context,
    )
    expect(v2.statusCode).toBe(200)
    expect(await storedEvents(local)).toBe(3)
  })

  it('prints the public origin in the tracker snippet, not the execute-api host', async () => {
    const login = await handlers.http(
      restEvent(
        'POST',
        '/api/auth/login',
        { 'content-type': 'application/json', [ORIGIN_SECRET_HEADER]: CURRENT },
        JSON.stringify({ password: PASSWORD }),
      ),
      context,
    )
    expect(login.statusCode).toBe(200)
    const token = JSON.parse(login.body).data.token as string
    for (const event of [restEvent, httpApiEvent]) {
      const page = await event(
        'GET',
        '/?site=default',
        { cookie: `${SESSION_COOKIE}=${token}`, [ORIGIN_SECRET_HEADER]: CURRENT },
        undefined,
      )
      const res = await handlers.http(page, context)
      expect(res.statusCode).toBe(200)
      expect(res.body).toContain(`src=&quot;${PUBLIC}/liveinsight.js&quot;`)
      expect(res.body).not.toContain('execute-api')
    }
  })

  it('takes a sign-in posted from the public origin by a browser without Sec-Fetch-Site', async () => {
    // Safari before 16.4 sends Origin but no Sec-Fetch-Site; the host this app sees is
    // API Gateway's, so only PUBLIC_ORIGIN can say the page was ours.
    const signIn = (origin: string) =>
      handlers.http(
        restEvent(
          'POST',
          '/api/auth/login',
          { 'content-type': 'application/json', origin, [ORIGIN_SECRET_HEADER]: CURRENT },
          JSON.stringify({ password: PASSWORD }),
        ),
        context,
      )
    const ours = await signIn(PUBLIC)
    expect(ours.statusCode).toBe(200)
    expect(JSON.parse(ours.body).data.token).toEqual(expect.any(String))
    for (const foreign of [
      'https://evil.example',
      'http://d111111abcdef8.cloudfront.net',
      'https://d111111abcdef8.cloudfront.net.evil.example',
      'null',
    ]) {
      const res = await signIn(foreign)
      expect(res.statusCode, foreign).toBe(403)
      expect(JSON.parse(res.body).message).toMatch(/cross-site request refused/)
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
      ...tableSettings(local),
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

describe('the collector behind its own HTTP API (infra/terraform/collector_api.tf)', () => {
  let local: LocalTables
  let handlers: LambdaHandlers
  beforeAll(async () => {
    local = await localTables()
    // The event-collector function's settings when collector_door is "direct" (lambda.tf,
    // direct_collector_environment): no origin secret, the connection's address, a limit per
    // address in each container.
    handlers = await createLambdaHandlers({
      ...tableSettings(local),
      ADMIN_PASSWORD: PASSWORD,
      TRUST_PROXY: '0',
      RATE_LIMIT_PER_MINUTE: '3',
      COLLECTOR_ORIGIN: 'https://abc123.execute-api.ap-northeast-2.amazonaws.com',
      LOG_LEVEL: 'silent',
    })
  })
  afterAll(async () => {
    await local.drop()
  })

  const direct = (sourceIp: string, forwardedFor: string, session: string) => {
    const event = httpApiEvent(
      'POST',
      '/api/events',
      {
        'content-type': 'text/plain',
        'x-api-key': KEY,
        'user-agent': CHROME,
        'x-forwarded-for': forwardedFor,
      },
      JSON.stringify({ events: [pv(session, 1, '/')] }),
    ) as unknown as { requestContext: { http: { sourceIp: string } } }
    event.requestContext.http.sourceIp = sourceIp
    return event as unknown as LambdaEvent
  }

  it('takes events with no CDN mark, and counts a client by its connection, not its headers', async () => {
    // A client that writes a new X-Forwarded-For into every request is still one address:
    // its fourth request in the minute is refused, another address's is not.
    for (let i = 0; i < 3; i++) {
      const res = await handlers.http(direct('203.0.113.9', `198.51.100.${i}`, `d-${i}`), context)
      expect(res.statusCode).toBe(200)
      expect(JSON.parse(res.body)).toMatchObject({ data: { accepted: 1 } })
    }
    const fourth = await handlers.http(direct('203.0.113.9', '198.51.100.99', 'd-3'), context)
    expect(fourth.statusCode).toBe(429)
    const other = await handlers.http(direct('203.0.113.10', '198.51.100.0', 'd-4'), context)
    expect(other.statusCode).toBe(200)
    expect(await storedEvents(local)).toBe(4)
  })
})
