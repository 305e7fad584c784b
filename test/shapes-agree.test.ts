import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { startDynamoDbService } from '../src/entry/aws/dynamodb-service.ts'
import { startEmbedded } from '../src/entry/embedded.ts'
import type { RunningService } from '../src/entry/service.ts'
import { createLogger } from '../src/log/logger.ts'
import { type LocalTables, localTables } from '../src/testing/dynamodb.ts'
import { signIn } from '../src/testing/sign-in.ts'
import { withoutStoreIds } from '../src/testing/store-ids.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

/**
 * One scenario sent over HTTP to the embedded shape (SQLite) and to the AWS shape (DynamoDB
 * Local, roll-up from the stream): every read route must answer the same, but for the ids
 * each store draws itself (stored session ids, daily visitor hashes).
 */
const PASSWORD = 'shapes-agree-password'
const KEY = 'shapes-agree-ingest-key-01'
const NOW = Date.now()
const MIN = 60_000
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'

interface Shape {
  server: RunningService
  token: string
}

const pv = (session: string, minutesAgo: number, path: string, extra = {}) => ({
  session_id: session,
  event_id: `${session}-${minutesAgo}-${path}`,
  timestamp: NOW - minutesAgo * MIN,
  event_type: 'page_view',
  page_url: `https://shop.example${path}`,
  ...extra,
})

/** Requests of a morning: sources, a bounce, a custom event, an identified user, a bot. */
const REQUESTS: Array<{ ua: string; ip: string; country: string; events: object[] }> = [
  {
    ua: CHROME,
    ip: '203.0.113.1',
    country: 'DE',
    events: [
      pv('a', 50, '/', { referrer: 'https://www.google.com/' }),
      pv('a', 48, '/pricing'),
      { ...pv('a', 47, '/pricing'), event_type: 'signup', props: { plan: 'pro' } },
    ],
  },
  { ua: SAFARI, ip: '203.0.113.2', country: 'KR', events: [pv('b', 20, '/blog/post')] },
  {
    ua: CHROME,
    ip: '203.0.113.3',
    country: 'US',
    events: [pv('c', 4, '/', { user_id: 'alice' }), pv('c', 2, '/docs', { user_id: 'alice' })],
  },
  // A late event of session a, sent after the others.
  { ua: CHROME, ip: '203.0.113.1', country: 'DE', events: [pv('a', 49, '/features')] },
  { ua: 'curl/8.5.0', ip: '198.51.100.9', country: '', events: [pv('bot', 1, '/')] },
]

async function start(kind: 'sqlite' | 'dynamodb', dataDir: string, tables?: LocalTables) {
  const config = parseConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_PASSWORD: PASSWORD,
    API_KEY: KEY,
    STATS_CACHE_SECONDS: '0',
    SQLITE_SYNCHRONOUS: 'NORMAL',
    RATE_LIMIT_PER_MINUTE: '0',
    TRUST_PROXY: '1',
  })
  const logger = createLogger('silent')
  const now = () => NOW
  const server =
    kind === 'dynamodb' && tables
      ? await startDynamoDbService(config, logger, tables.clients, tables.tables, { now })
      : await startEmbedded(config, logger, { now, pipeline: 'in-process' })
  return { server, token: await signIn(server.url, PASSWORD) }
}

describe('the embedded and the AWS shape answer alike', () => {
  const dir = tempDir()
  let tables: LocalTables
  let sqlite: Shape
  let dynamo: Shape

  beforeAll(async () => {
    tables = await localTables()
    sqlite = await start('sqlite', dir.path)
    dynamo = await start('dynamodb', dir.path, tables)
    for (const { ua, ip, country, events } of REQUESTS) {
      for (const shape of [sqlite, dynamo]) {
        const res = await fetch(`${shape.server.url}/api/events`, {
          method: 'POST',
          headers: {
            'x-api-key': KEY,
            'user-agent': ua,
            'x-forwarded-for': ip,
            'cloudfront-viewer-country': country,
          },
          body: JSON.stringify({ events }),
        })
        expect(res.status).toBe(200)
        await shape.server.settle()
      }
    }
  })
  afterAll(async () => {
    await sqlite?.server.close()
    await dynamo?.server.close()
    await tables?.drop()
    dir.remove()
  })

  const both = async (path: string) =>
    Promise.all(
      [sqlite, dynamo].map(async ({ server, token }) => {
        const res = await fetch(`${server.url}${path}`, {
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        })
        return { status: res.status, body: withoutStoreIds(await res.json()) }
      }),
    )

  it.each([
    'period=today',
    'period=24h',
    'period=7d&compare=previous',
    'period=30d&limit=3',
    'period=today&filter=page:/pricing',
  ])('/api/stats?%s', async (query) => {
    const [a, b] = await both(`/api/stats?site=default&${query}`)
    expect(a?.status).toBe(200)
    expect(
      (a?.body as { data: { summary: { pageviews: { value: number } } } }).data.summary,
    ).toBeDefined()
    expect(b).toEqual(a)
  })

  it('/api/realtime', async () => {
    const [a, b] = await both('/api/realtime?site=default')
    expect((a?.body as { data: { active_visitors: number } }).data.active_visitors).toBe(1)
    expect(b).toEqual(a)
  })

  it('session timelines and a user’s sessions', async () => {
    const at = NOW - 49 * MIN
    const [a, b] = await both(`/api/sessions/a?site=default&at=${at}`)
    const events = (a?.body as { data: { events: Array<{ path: string }> } }).data.events
    expect(events.map((e) => e.path)).toEqual(['/', '/features', '/pricing', '/pricing'])
    expect(b).toEqual(a)
    const [ua, ub] = await both('/api/users/alice/sessions?site=default')
    expect(ua?.status).toBe(200)
    expect(ub).toEqual(ua)
  })

  it('answers ids longer than any key alike, never with a 500', async () => {
    const long = (c: string) => c.repeat(5000)
    for (const path of [
      `/api/sessions/${long('x')}`,
      `/api/sessions/${long('x')}?site=default`,
      `/api/users/${long('u')}/sessions?site=default`,
      `/api/stats?site=${long('s')}`,
      `/api/realtime?site=${long('s')}`,
    ]) {
      const [a, b] = await both(path)
      expect(a?.status, path).toBeLessThan(500)
      expect(b, path).toEqual(a)
    }
  })

  // Last: it removes alice, whom the tests above read.
  it("deletes an identified user's sessions, record and raw events alike", async () => {
    const send = (shape: Shape, headers: Record<string, string>) =>
      fetch(`${shape.server.url}/api/users/alice?site=default`, { method: 'DELETE', headers })
    for (const shape of [sqlite, dynamo]) {
      // A write from another site's page, with no token: refused before anything is read.
      const crossSite = await send(shape, { 'sec-fetch-site': 'cross-site' })
      expect(crossSite.status).toBe(403)
      expect((await send(shape, {})).status).toBe(401)
      const unknownSite = await fetch(`${shape.server.url}/api/users/alice?site=nope`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${shape.token}` },
      })
      expect(unknownSite.status).toBe(404)
    }
    const before = await both('/api/stats?site=default&period=today')
    const answers = await Promise.all(
      [sqlite, dynamo].map(async (shape) => {
        const res = await send(shape, { authorization: `Bearer ${shape.token}` })
        return { status: res.status, body: await res.json() }
      }),
    )
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 200,
        body: { status: 'success', data: { deleted: { sessions: 1, events: 2, raw_events: 2 } } },
      })
    }
    const [ua, ub] = await both('/api/users/alice/sessions?site=default')
    expect((ua?.body as { data: { sessions: unknown[] } }).data.sessions).toEqual([])
    expect(ub).toEqual(ua)
    const [ta, tb] = await both(`/api/sessions/c?site=default&at=${NOW - 3 * MIN}`)
    expect(ta?.status).toBe(404)
    expect(tb).toEqual(ta)
    // The counters stay as they were; deleting again finds nothing.
    expect(await both('/api/stats?site=default&period=today')).toEqual(before)
    const again = await send(sqlite, { authorization: `Bearer ${sqlite.token}` })
    expect(((await again.json()) as { data: { deleted: object } }).data.deleted).toEqual({
      sessions: 0,
      events: 0,
      raw_events: 0,
    })
  })
})
