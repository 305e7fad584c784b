import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

/**
 * A person's deletion request is honoured in what the dashboard shows at once, with the stats
 * cache on as in production: the deletion changes the record and the sessions but no counter,
 * and the cache is keyed by the counters' version.
 */
describe('deleting a user with the stats cache on', () => {
  let t: TestServer
  let token = ''
  beforeAll(async () => {
    t = await startTestServer({ ADMIN_PASSWORD: 'deletion-password', STATS_CACHE_SECONDS: '30' })
    token = await t.signIn()
    const now = Date.now()
    const view = (session_id: string, user_id: string | undefined, path: string) => ({
      session_id,
      ...(user_id ? { user_id } : {}),
      timestamp: now - 60_000,
      event_type: 'page_view',
      page_url: `https://shop.example${path}`,
    })
    expect((await t.post({ events: [view('alice-tab', 'alice', '/pricing')] })).status).toBe(200)
    expect((await t.post({ events: [view('other-tab', undefined, '/pricing')] })).status).toBe(200)
  })
  afterAll(() => t.stop())

  const pricingSessions = async () => {
    const res = await fetch(
      `${t.url}/api/stats?site=default&period=24h&filter=${encodeURIComponent('page:/pricing')}`,
      { headers: { authorization: `Bearer ${token}` } },
    )
    return ((await res.json()) as { data: { summary: { sessions: { value: number } } } }).data
      .summary.sessions.value
  }

  it('answers filtered stats without the deleted user at once, not after the cache expires', async () => {
    expect(await pricingSessions()).toBe(2)
    const res = await fetch(`${t.url}/api/users/alice?site=default`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    expect(await pricingSessions()).toBe(1)
  })
})
