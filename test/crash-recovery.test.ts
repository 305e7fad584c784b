import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import { exited, spawnServer } from './support/child-server.ts'
import { CHROME_UA } from './support/embedded-server.ts'

const API_KEY = 'crash_test_key_0123456789'
const dir = tempDir()
afterAll(() => dir.remove())

/** One client: posts 5-event batches until the server goes away; returns the acknowledged ids. */
async function client(url: string, worker: number, stop: { now: boolean }): Promise<string[]> {
  const acked: string[] = []
  for (let batch = 0; !stop.now; batch++) {
    const ids = Array.from({ length: 5 }, (_, i) => `w${worker}-b${batch}-e${i}`)
    try {
      const res = await fetch(`${url}/api/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': API_KEY,
          'user-agent': CHROME_UA,
        },
        body: JSON.stringify({
          events: ids.map((event_id) => ({
            event_id,
            session_id: `w${worker}`,
            event_type: 'page_view',
            page_url: `https://crash.example/p${batch % 7}`,
          })),
        }),
      })
      await res.arrayBuffer()
      if (res.ok) acked.push(...ids)
    } catch {
      return acked // connection refused or reset: the server is gone
    }
  }
  return acked
}

describe('an acknowledged event survives kill -9', () => {
  it('keeps every event whose request got a 2xx, and the server starts again on the same file', async () => {
    // Sixteen clients on one address, as fast as they can: no rate limit, so the load is real.
    const env = { DATA_DIR: dir.path, API_KEY, RATE_LIMIT_PER_MINUTE: '0' }
    const server = await spawnServer(env)
    const stop = { now: false }
    const clients = Array.from({ length: 16 }, (_, worker) => client(server.url, worker, stop))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    server.child.kill('SIGKILL')
    await exited(server.child)
    stop.now = true
    const acked = (await Promise.all(clients)).flat()
    expect(acked.length).toBeGreaterThan(100)

    const db = new Database(join(dir.path, 'liveinsight.db'), { readonly: true })
    const stored = new Set(db.prepare('SELECT event_id FROM events').pluck().all() as string[])
    db.close()
    const missing = acked.filter((id) => !stored.has(id))
    expect(missing).toEqual([])

    const again = await spawnServer(env)
    const health = await fetch(`${again.url}/health`)
    expect(health.status).toBe(200)
    const res = await fetch(`${again.url}/api/events`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'user-agent': CHROME_UA },
      body: JSON.stringify({ event_type: 'page_view', page_url: 'https://crash.example/after' }),
    })
    expect(res.status).toBe(200)
    again.child.kill('SIGTERM')
    expect(await exited(again.child)).toBe(0)

    // The roll-up thread took up what the killed server had queued: every stored page view
    // is counted once, and nothing waits in the queue after a clean stop.
    const after = new Database(join(dir.path, 'liveinsight.db'), { readonly: true })
    const events = after.prepare('SELECT count(*) FROM events').pluck().get() as number
    const counted = after
      .prepare("SELECT sum(pageviews) FROM rollup_day WHERE dim = '' AND site_id = 'default'")
      .pluck()
      .get() as number
    const queued = after.prepare('SELECT count(*) FROM ingest_batch').pluck().get() as number
    after.close()
    expect({ counted, queued }).toEqual({ counted: events, queued: 0 })
  }, 60_000)
})

describe('start-up configuration', () => {
  it('stops with a message naming an invalid variable', async () => {
    await expect(
      spawnServer({ DATA_DIR: dir.path, SESSION_TIMEOUT_MINUTES: 'soon' }),
    ).rejects.toThrow(/SESSION_TIMEOUT_MINUTES: must be a whole number/)
  })

  it('generates, stores and prints an ingest key on first start, and keeps it', async () => {
    const fresh = tempDir()
    const first = await spawnServer({ DATA_DIR: fresh.path, API_KEY: '' })
    const [, key] = await first.printed(/generated, stored\): (li_[\w-]+)/)
    expect(key).toMatch(/^li_/)
    first.child.kill('SIGTERM')
    await exited(first.child)
    const second = await spawnServer({ DATA_DIR: fresh.path, API_KEY: '' })
    await second.printed(new RegExp(`data-api-key="${key}"`))
    expect(second.output()).toContain(`default site: ${key}`)
    second.child.kill('SIGTERM')
    await exited(second.child)
    fresh.remove()
  }, 60_000)
})
