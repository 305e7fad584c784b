import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: { status: string; message?: string }
}

/**
 * One event posted from `from`, a loopback address of this machine (all of 127/8 is), so the
 * server sees different client addresses without trusting any proxy header.
 */
function postFrom(url: string, from: string, eventId: string): Promise<Answer> {
  const body = JSON.stringify({
    events: [
      {
        event_id: eventId,
        session_id: `s-${from}`,
        event_type: 'page_view',
        page_url: 'https://limits.example/',
      },
    ],
  })
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/events`,
      {
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'x-api-key': TEST_API_KEY,
          'user-agent': CHROME_UA,
          origin: 'https://limits.example',
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function storedIds(t: TestServer): string[] {
  return t.db().prepare('SELECT event_id FROM events ORDER BY event_id').pluck().all() as string[]
}

let t: TestServer | undefined
afterEach(async () => {
  await t?.stop()
  t = undefined
})

describe('the collector’s rate limit per client address (RATE_LIMIT_PER_MINUTE)', () => {
  it('answers 429 with Retry-After, the error envelope and CORS past the limit; another address is not limited', async () => {
    let clock = Date.now()
    t = await startTestServer({ RATE_LIMIT_PER_MINUTE: '3' }, { now: () => clock })
    for (const n of [1, 2, 3]) {
      expect((await postFrom(t.url, '127.0.0.1', `a${n}`)).status).toBe(200)
    }
    const limited = await postFrom(t.url, '127.0.0.1', 'a4')
    expect(limited.status).toBe(429)
    // Three a minute: the next one is allowed 20 s after the first.
    expect(limited.headers['retry-after']).toBe('20')
    expect(limited.headers['access-control-allow-origin']).toBe('*')
    expect(limited.headers['access-control-expose-headers']).toBe('Retry-After')
    expect(limited.body).toEqual({
      status: 'error',
      message: 'too many requests from this address; retry later',
    })

    expect((await postFrom(t.url, '127.0.0.2', 'b1')).status).toBe(200)

    clock += 20_000
    expect((await postFrom(t.url, '127.0.0.1', 'a5')).status).toBe(200)
    expect((await postFrom(t.url, '127.0.0.1', 'a6')).status).toBe(429)

    await t.server.settle()
    expect(storedIds(t)).toEqual(['a1', 'a2', 'a3', 'a5', 'b1'])
    expect(t.server.collector.stats()).toMatchObject({ rateLimitedRequests: 2 })
    // And an operator sees them in /metrics.
    const metrics = await fetch(`${t.url}/metrics`, {
      headers: { authorization: `Bearer ${await t.signIn()}` },
    })
    expect(await metrics.text()).toMatch(/^liveinsight_requests_rate_limited_total 2$/m)
  })

  it('limits nothing with RATE_LIMIT_PER_MINUTE=0', async () => {
    t = await startTestServer({ RATE_LIMIT_PER_MINUTE: '0' })
    const answers = []
    for (let n = 0; n < 30; n++) answers.push(await postFrom(t.url, '127.0.0.1', `z${n}`))
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200))
    expect(t.server.collector.stats()).toMatchObject({ rateLimitedRequests: 0 })
  })
})
