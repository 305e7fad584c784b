import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { type EmbeddedServer, startEmbedded } from '../src/entry/embedded.ts'
import { sendSampleDay } from '../src/entry/sample-day.ts'
import { createLogger } from '../src/log/logger.ts'
import { signIn } from '../src/testing/sign-in.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

// The day's visits fall in the 23 hours before the clock: at 23:30 UTC they all lie in one
// UTC day, so its visitors are the 30 sent (visitors count once a day: a visitor whose visits
// straddled midnight would count on both days, and the figure would depend on the hour the
// test runs at).
const NOW = Date.UTC(2026, 2, 10, 23, 30)

describe('npm run sample-data', () => {
  const dir = tempDir()
  let server: EmbeddedServer
  beforeAll(async () => {
    server = await startEmbedded(
      parseConfig({
        PORT: '0',
        DATA_DIR: dir.path,
        ADMIN_PASSWORD: 'sample-password',
        RATE_LIMIT_PER_MINUTE: '0',
        STATS_CACHE_SECONDS: '0',
        SQLITE_SYNCHRONOUS: 'NORMAL',
      }),
      createLogger('silent'),
      { pipeline: 'in-process', now: () => NOW },
    )
  })
  afterAll(async () => {
    await server.close()
    dir.remove()
  })

  it('sends a day the dashboard shows: visitors, sessions, sources, pages, events', async () => {
    const sent = await sendSampleDay({
      url: server.url,
      key: server.site.api_key,
      visitors: 30,
      now: NOW,
    })
    expect(sent.refused).toBe(0)
    expect(sent.sessions).toBeGreaterThanOrEqual(30)
    await server.settle()
    const token = await signIn(server.url, 'sample-password')
    const res = await fetch(`${server.url}/api/stats?site=default&period=today`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const { data } = (await res.json()) as { data: Record<string, any> }
    expect(data.summary.visitors.value).toBe(30)
    expect(data.summary.sessions.value).toBe(sent.sessions)
    expect(data.sources.length).toBeGreaterThan(2)
    expect(data.top_pages.length).toBeGreaterThan(3)
    // Sent again (a rerun, or a retry): stored once.
    const again = await sendSampleDay({
      url: server.url,
      key: server.site.api_key,
      visitors: 30,
      now: NOW,
    })
    expect(again.events).toBe(sent.events)
    await server.settle()
    const after = await fetch(`${server.url}/api/stats?site=default&period=today`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const second = (await after.json()) as { data: Record<string, any> }
    expect(second.data.summary.sessions.value).toBe(sent.sessions)
  })
})
