import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { makeSite } from '../testing/fixtures.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { InProcessPipeline } from './in-process-pipeline.ts'

const dir = tempDir()
afterEach(() => dir.remove())

const NOW = Date.UTC(2026, 0, 15, 10)
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const site = makeSite({ created_at: NOW - 86_400_000 })

/** A POST /api/events body as the HTTP side hands it on. */
function request(id: string, path: string, ip = '203.0.113.9') {
  const body = {
    type: 'page_view',
    url: `https://example.com${path}`,
    event_id: id,
    timestamp: NOW,
  }
  return {
    site,
    body: JSON.stringify(body),
    request: { ip, userAgent: CHROME, country: 'DE' },
    receivedAt: NOW,
  }
}

describe('in-process pipeline', () => {
  it('accepts, rolls up and shows live on the caller thread, over any store', async () => {
    const store = new SqliteStore({ file: join(dir.path, 'x.db') })
    await store.createSite(site)
    const pipeline = new InProcessPipeline(store, {
      sessionTimeoutMs: 30 * 60_000,
      logger: createLogger('silent'),
    })
    const outcome = await pipeline.accept(request('a', '/pricing'))
    expect(outcome).toEqual({ result: { accepted: 1, duplicates: 0, bots: 0, rejected: [] } })
    expect((await pipeline.liveSnapshot(site.id, NOW)).active_visitors).toBe(1)
    await pipeline.settle()
    expect(await store.backlog()).toBe(0)
    const [day] = await store.readRollups({
      grain: 'day',
      site_id: site.id,
      dim: '',
      from: '2026-01-15',
      to: '2026-01-15',
    })
    expect(day).toMatchObject({ pageviews: 1, visitors: 1, sessions: 1, bounces: 1 })
    await pipeline.close()
    await store.close()
  })

  it('reads live snapshots from the store where instances each see part of the traffic', async () => {
    const file = join(dir.path, 'x.db')
    const stores = [new SqliteStore({ file }), new SqliteStore({ file })] as const
    await stores[0].createSite(site)
    const options = { sessionTimeoutMs: 30 * 60_000, logger: createLogger('silent') }
    // Two instances that only accept (the roll-up runs elsewhere), as collector containers.
    const [first, second] = stores.map(
      (store) => new InProcessPipeline(store, { ...options, live: 'stored', rollUp: false }),
    ) as [InProcessPipeline, InProcessPipeline]
    const keeping = new InProcessPipeline(stores[1], { ...options, rollUp: false })
    // Its window starts from what is stored now: nothing yet.
    expect((await keeping.liveSnapshot(site.id, NOW)).pages).toEqual([])
    // Three visitors (addresses), each on a page.
    await first.accept(request('a', '/pricing', '203.0.113.1'))
    await second.accept(request('b', '/docs', '203.0.113.2'))
    await keeping.accept(request('c', '/blog', '203.0.113.3'))
    // Each stored read shows every instance's events; a kept window only its own instance's.
    for (const pipeline of [first, second]) {
      const live = await pipeline.liveSnapshot(site.id, NOW)
      expect(live.pages.map((p) => p.page_url).sort()).toEqual(['/blog', '/docs', '/pricing'])
    }
    expect((await keeping.liveSnapshot(site.id, NOW)).pages.map((p) => p.page_url)).toEqual([
      '/blog',
    ])
    // Nothing rolled up: these instances only accept.
    expect(await stores[0].backlog()).toBe(3)
    for (const pipeline of [first, second, keeping]) await pipeline.close()
    for (const store of stores) await store.close()
  })
})
