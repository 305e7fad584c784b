import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureDefaultSite } from '../src/entry/default-site.ts'
import { createLogger } from '../src/log/logger.ts'
import { type FullDatabase, fullDatabase } from '../src/testing/full-database.ts'
import { appOverSqlite } from './support/app-over-sqlite.ts'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

/** 4 KiB pages: 8 MiB, far above what a fresh database takes. */
const MAX_PAGES = 2048

/** Events as large as the schema allows, so a batch needs new pages of the file. */
function batch(tag: string, count = 20) {
  return {
    events: Array.from({ length: count }, (_, i) => ({
      session_id: `${tag}-${i}`,
      event_type: 'page_view',
      timestamp: Date.now() - 1000,
      page_url: `https://health.example/${tag}/${i}/${'p'.repeat(1900)}`,
      title: 't'.repeat(500),
    })),
  }
}

function send(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/api/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': TEST_API_KEY,
      'user-agent': CHROME_UA,
    },
    body: JSON.stringify(body),
  })
}

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/health`)
  return { status: res.status, body: await res.json() }
}

const FAILING = {
  status: 503,
  body: { status: 'error', message: 'storage failing', details: { rollup_lag_s: 0 } },
}
const OK = { status: 200, body: { status: 'success', data: { status: 'ok', rollup_lag_s: 0 } } }

describe('/health on the embedded server when the disk is full (SQLITE_FULL)', () => {
  let t: TestServer
  let disk: FullDatabase

  beforeAll(async () => {
    t = await startTestServer({
      SQLITE_MAX_PAGE_COUNT: String(MAX_PAGES),
      STATS_CACHE_SECONDS: '0',
      LOG_LEVEL: 'silent',
    })
    disk = fullDatabase(t.server.databaseFile, MAX_PAGES)
  })
  afterAll(async () => {
    disk.close()
    await t.stop()
  })

  it('says ok while writes succeed, storage failing once an accept failed, ok after the next write', async () => {
    expect((await t.post(batch('before'))).status).toBe(200)
    expect(await health(t.url)).toEqual(OK)
    disk.start()
    try {
      // Reads still work on a full disk, so only the failed write (on the accept worker's
      // connection) can tell this thread's /health.
      expect(await health(t.url)).toEqual(OK)
      expect((await send(t.url, batch('refused'))).status).toBe(503)
      expect(await health(t.url)).toEqual(FAILING)
    } finally {
      disk.stop()
    }
    // Space again, but nothing written since: the latest write is still the failed one.
    expect(await health(t.url)).toEqual(FAILING)
    expect((await t.post(batch('after'))).status).toBe(200)
    expect(await health(t.url)).toEqual(OK)
  })
})

describe('a failed accept in the log', () => {
  it('is logged once, with its request id, site and cause', async () => {
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line))
        done()
      },
    })
    const now = Date.now()
    const app = await appOverSqlite({
      now: () => now,
      statsCacheMs: 0,
      logger: createLogger('info', { format: 'json', destination: sink }),
      connection: { maxPageCount: MAX_PAGES },
      prepare: (store) => ensureDefaultSite(store, TEST_API_KEY, now),
    })
    const disk = fullDatabase(app.file, MAX_PAGES)
    try {
      disk.start()
      const res = await app.app.request('/api/events', {
        method: 'POST',
        headers: { 'x-api-key': TEST_API_KEY, 'user-agent': CHROME_UA },
        body: JSON.stringify(batch('refused')),
      })
      expect(res.status).toBe(503)
      const failed = lines.filter((line) => line.msg === 'accept failed')
      expect(failed).toEqual([
        expect.objectContaining({
          level: 50,
          req_id: expect.any(String),
          site: 'default',
          err: expect.stringContaining('SQLITE_FULL'),
        }),
      ])
      // And /health, in the same process, says so.
      expect((await app.app.request('/health')).status).toBe(503)
    } finally {
      disk.stop()
      disk.close()
      await app.close()
    }
  })
})
