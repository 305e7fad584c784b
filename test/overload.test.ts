import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

let t: TestServer
beforeAll(async () => {
  // A small bound, so a few dozen concurrent clients are far more than it takes; no rate limit,
  // as every client here shares one address.
  t = await startTestServer({ MAX_PENDING_REQUESTS: '4', RATE_LIMIT_PER_MINUTE: '0' })
})
afterAll(async () => {
  await t.stop()
})

interface Answered {
  ids: string[]
  status: number
  retryAfter: string | null
  body: { status: string; message?: string }
}

/** One client posting 5-event batches back to back until `until`; every answer it got. */
async function client(worker: number, until: number): Promise<Answered[]> {
  const answers: Answered[] = []
  for (let batch = 0; Date.now() < until; batch++) {
    const ids = Array.from({ length: 5 }, (_, i) => `w${worker}-b${batch}-e${i}`)
    const res = await fetch(`${t.url}/api/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': TEST_API_KEY,
        'user-agent': CHROME_UA,
      },
      body: JSON.stringify({
        events: ids.map((event_id) => ({
          event_id,
          session_id: `w${worker}`,
          event_type: 'page_view',
          page_url: `https://flood.example/p${batch % 5}`,
        })),
      }),
    })
    answers.push({
      ids,
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as Answered['body'],
    })
  }
  return answers
}

describe('overload: past MAX_PENDING_REQUESTS the collector sheds instead of queueing', () => {
  it('answers 503 with Retry-After at once, and stores every acknowledged event exactly once', async () => {
    const until = Date.now() + 1500
    const answers = (
      await Promise.all(Array.from({ length: 48 }, (_, worker) => client(worker, until)))
    ).flat()
    await t.server.settle()

    const acked = answers.filter((a) => a.status === 200)
    const shed = answers.filter((a) => a.status === 503)
    expect(acked.length + shed.length).toBe(answers.length)
    expect(acked.length).toBeGreaterThan(0)
    expect(shed.length).toBeGreaterThan(0)
    for (const answer of shed) {
      expect(answer.retryAfter).toBe('1')
      expect(answer.body).toEqual({
        status: 'error',
        message: 'too many events waiting to be stored; retry shortly',
      })
    }
    expect(t.server.collector.stats()).toMatchObject({
      shedRequests: shed.length,
      pendingRequests: 0,
      pendingBytes: 0,
    })

    // Every acknowledged event once, and nothing of a shed request.
    const rows = t
      .db()
      .prepare("SELECT event_id, count(*) AS n FROM events WHERE event_id LIKE 'w%' GROUP BY 1")
      .all() as Array<{ event_id: string; n: number }>
    expect(rows.filter((row) => row.n !== 1)).toEqual([])
    const stored = rows.map((row) => row.event_id).sort()
    expect(stored).toEqual(acked.flatMap((a) => a.ids).sort())
    const counted = t
      .db()
      .prepare("SELECT sum(pageviews) FROM rollup_day WHERE dim = '' AND site_id = 'default'")
      .pluck()
      .get()
    expect(counted).toBe(stored.length)
  })
})
