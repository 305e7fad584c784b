import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import type { Site } from '../src/core/types.ts'
import { type EmbeddedServer, startEmbedded } from '../src/entry/embedded.ts'
import { importHistoryFile } from '../src/import/history-file.ts'
import { createLogger } from '../src/log/logger.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

/**
 * A restarted server loads each site's record columns for the 30-day view by itself, so the
 * first filtered question does not wait for a month to be read out of SQLite.
 */

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
const site: Site = {
  id: 'shop',
  name: 'Shop',
  domain: 'shop.example',
  timezone: 'UTC',
  api_key: 'key-shop-0123456789ab',
  created_at: 0,
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A data folder holding ten page views, five days ago, of two visitors. */
async function dataDir(): Promise<string> {
  const dir = tempDir()
  cleanups.push(dir.remove)
  const store = new SqliteStore({ file: join(dir.path, 'liveinsight.db') })
  await store.createSite(site)
  const start = Math.floor((Date.now() - 5 * DAY) / DAY) * DAY + 10 * HOUR
  const lines = Array.from({ length: 10 }, (_, i) =>
    JSON.stringify({
      ip: i % 2 ? '192.0.2.1' : '192.0.2.2',
      user_agent: CHROME,
      type: 'page_view',
      url: `https://shop.example/p${i}`,
      timestamp: start + i * MIN,
    }),
  )
  let n = 0
  await importHistoryFile({
    store,
    site,
    lines: (async function* () {
      yield* lines
    })(),
    options: {
      sessionTimeoutMs: 30 * MIN,
      newSessionId: () => `s${++n}`,
      eventTtlMs: 24 * HOUR,
      now: Date.now(),
    },
  })
  await store.close()
  return dir.path
}

/** Starts the server on `dir` and collects its log lines. */
async function start(dir: string) {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text))
      done()
    },
  })
  const config = parseConfig({ PORT: '0', DATA_DIR: dir, SQLITE_SYNCHRONOUS: 'NORMAL' })
  const server: EmbeddedServer = await startEmbedded(config, createLogger('info', { destination }))
  cleanups.push(() => server.close())
  const loaded = async () => {
    const line = () => lines.find((l) => l.msg === "record's columns loaded" && l.site === 'shop')
    for (let waited = 0; !line() && waited < 20_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return line()
  }
  return { server, loaded }
}

describe('record columns at start', () => {
  it('are loaded for the 30-day view without any query, and say so in the log', async () => {
    const dir = await dataDir()
    const { loaded } = await start(dir)
    expect(await loaded()).toMatchObject({ sessions: 2, events: 10, restored: false })
  })

  it('are read back from the copy the last run saved, unless a deletion came after it', async () => {
    const dir = await dataDir()
    const first = await start(dir)
    expect(await first.loaded()).toMatchObject({ sessions: 2, restored: false })
    await first.server.close()
    const second = await start(dir)
    expect(await second.loaded()).toMatchObject({ sessions: 2, events: 10, restored: true })
    await second.server.close()
    // A deletion (of nobody here) with the server stopped still rewrites the past.
    const store = new SqliteStore({ file: join(dir, 'liveinsight.db') })
    await store.deleteUserData('shop', 'someone')
    await store.close()
    const third = await start(dir)
    expect(await third.loaded()).toMatchObject({ sessions: 2, restored: false })
  })
})
