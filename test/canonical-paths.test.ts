import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NON_CANONICAL_COLLECTOR_PATHS } from '../src/testing/non-canonical-paths.ts'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

/**
 * Requests sent to the embedded server with their target written byte for byte (fetch would
 * normalise it first). The same paths through the Lambda handler:
 * src/entry/aws/lambda-handlers.test.ts.
 */
let t: TestServer
let token = ''
beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: 'canonical-paths-password' })
  token = await t.signIn()
})
afterAll(async () => {
  await t.stop()
})

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One request with its target written byte for byte as given. */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(t.url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

function expectRefused(answer: Answer, status: number) {
  expect(answer.status).toBe(status)
  expect(JSON.parse(answer.body)).toMatchObject({ status: 'error' })
  expect(answer.headers['content-type']).toMatch(/application\/json/)
  expect(answer.headers['x-content-type-options']).toBe('nosniff')
  expect(answer.headers['x-frame-options']).toBe('DENY')
  expect(answer.headers['content-security-policy']).toContain("default-src 'none'")
}

const collect = (session: string) => ({
  headers: { 'content-type': 'text/plain', 'x-api-key': TEST_API_KEY, 'user-agent': CHROME_UA },
  body: JSON.stringify({
    events: [{ event_type: 'page_view', page_url: 'https://h.example/', session_id: session }],
  }),
})

const storedSessions = () =>
  t.db().prepare('SELECT DISTINCT client_session_id FROM events').pluck().all() as string[]

describe('a path that is not canonical', () => {
  it('is answered 404 with the envelope and security headers, and stores nothing', async () => {
    for (const [i, path] of NON_CANONICAL_COLLECTOR_PATHS.entries()) {
      const { headers, body } = collect(`odd-${i}`)
      expectRefused(await send('POST', path, headers, body), 404)
    }
    // The same request at the canonical path is stored: the refusals were for the path alone.
    const { headers, body } = collect('plain')
    expect((await send('POST', '/api/events', headers, body)).status).toBe(200)
    await t.server.settle()
    expect(storedSessions()).toEqual(['plain'])
  })

  it('is refused on every route, whoever asks', async () => {
    const bearer = { authorization: `Bearer ${token}` }
    for (const path of ['/api/./stats?site=default', '/api/s%74ats?site=default', '/h%65alth']) {
      expectRefused(await send('GET', path, bearer), 404)
    }
    expectRefused(await send('GET', '/./'), 404)
    expectRefused(await send('GET', '/assets/../assets/dashboard.css'), 404)
  })

  it('leaves ids that need percent-encoding in a path segment routable', async () => {
    // A tracker session id is any text up to 128 characters: a slash, a space, a non-ASCII
    // letter all have to be encoded in `/api/sessions/{id}`.
    const session = 'tab/ü 1'
    const { headers, body } = collect(session)
    expect((await send('POST', '/api/events', headers, body)).status).toBe(200)
    await t.server.settle()
    const answer = await send('GET', `/api/sessions/${encodeURIComponent(session)}?site=default`, {
      authorization: `Bearer ${token}`,
    })
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body).data.session.session_id).toBe(session)
    const percent = await send(
      'GET',
      `/api/users/${encodeURIComponent('50%@x')}/sessions?site=default`,
      {
        authorization: `Bearer ${token}`,
      },
    )
    expect(percent.status).toBe(200)
  })
})
