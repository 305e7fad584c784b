import { execFile, spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import type { RowDimension } from '../src/core/rollup-deltas.ts'
import type { Site } from '../src/core/types.ts'
import { holderFile } from '../src/entry/data-lock.ts'
import { startEmbedded } from '../src/entry/embedded.ts'
import { importHistoryFile, type RejectedLine } from '../src/import/history-file.ts'
import { HistoryImportError } from '../src/import/history-import.ts'
import { createLogger } from '../src/log/logger.ts'
import { SCHEMA_VERSION } from '../src/storage/sqlite/migrations.ts'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

const NOW = Date.UTC(2026, 0, 20, 12, 0, 0)
const MIN = 60_000
const HOUR = 60 * MIN
const D1 = Date.UTC(2026, 0, 17, 10, 0, 0)
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

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

async function openStore(): Promise<{ store: SqliteStore; dir: string }> {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'liveinsight.db') })
  cleanups.push(dir.remove, () => store.close())
  await store.createSite(site)
  return { store, dir: dir.path }
}

async function* linesOf(lines: readonly string[]) {
  yield* lines
}

const options = (flushEvents?: number) => ({
  sessionTimeoutMs: 30 * MIN,
  newSessionId: (() => {
    let n = 0
    return () => `s${++n}`
  })(),
  eventTtlMs: 24 * HOUR,
  now: NOW,
  ...(flushEvents ? { flushEvents } : {}),
})

const line = (fields: Record<string, unknown>) => JSON.stringify(fields)
const page = (path: string) => `https://shop.example${path}`

async function day(store: SqliteStore, dim: RowDimension, date: string) {
  return store.readRollups({ grain: 'day', site_id: 'shop', dim, from: date, to: date })
}

describe('importing a history file', () => {
  it('imports good lines, reports bad ones by line number, and drops bots', async () => {
    const { store } = await openStore()
    const a = { ip: '192.0.2.1', user_agent: CHROME }
    const signup = line({
      ...a,
      type: 'signup',
      url: page('/pricing'),
      timestamp: D1 + 30 * MIN,
      event_id: 'su-1',
    })
    const lines = [
      line({
        ...a,
        type: 'page_view',
        url: page('/'),
        timestamp: D1,
        referrer: 'https://www.google.com/',
      }),
      // Seconds are taken as seconds, as the collector takes them.
      line({ ...a, type: 'page_view', url: page('/pricing'), timestamp: (D1 + 5 * MIN) / 1000 }),
      '',
      '{not json',
      line({
        visitor: 'other-tool-visitor-123',
        user_agent: CHROME,
        country: 'DE',
        event_type: 'page_view',
        page_url: page('/docs'),
        timestamp: D1 + 20 * MIN,
      }),
      line({
        ip: '192.0.2.9',
        user_agent: GOOGLEBOT,
        type: 'page_view',
        url: page('/'),
        timestamp: D1 + 30 * MIN,
      }),
      line({ ...a, type: 'page_view', url: '/relative', timestamp: D1 + 30 * MIN }),
      signup,
      // Sent twice, as a retry would: the same event_id at the same time.
      signup,
      line({ ...a, type: 'page_view', url: page('/') }),
      line({ ...a, type: 'page_view', url: page('/'), timestamp: D1 + 23 * HOUR }),
      line({ ...a, country: 'de', type: 'page_view', url: page('/'), timestamp: D1 + 23 * HOUR }),
    ]
    const rejected: RejectedLine[] = []
    const result = await importHistoryFile({
      store,
      site,
      lines: linesOf(lines),
      options: options(),
      onRejected: (r) => rejected.push(r),
    })

    expect(result).toEqual({ imported: 5, duplicates: 1, sessions: 3, bots: 1, rejected: 4 })
    expect(rejected).toEqual([
      { line: 4, message: 'not valid JSON' },
      { line: 7, message: expect.stringMatching(/page_url|url/) },
      { line: 10, message: 'timestamp: required when importing history' },
      { line: 12, message: 'country: must be a two-letter country code' },
    ])
    const [first] = await day(store, '', '2026-01-17')
    // A: / and /pricing and a signup in one session; B: one page, a bounce.
    expect(first).toMatchObject({
      pageviews: 3,
      visitors: 2,
      sessions: 2,
      bounces: 1,
      events: 1,
      bots: 1,
    })
    expect(first?.duration_ms).toBe(30 * MIN)
    const [second] = await day(store, '', '2026-01-18')
    expect(second).toMatchObject({ pageviews: 1, visitors: 1, sessions: 1, bounces: 1 })
    // Three days old: past the 72 hours hourly dimension rows are kept, so none were written.
    const hourlyPages = await store.readRollups({
      grain: 'hour',
      site_id: 'shop',
      dim: 'page',
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
    })
    expect(hourlyPages.map((r) => r.bucket)).toEqual([(D1 + 23 * HOUR) / HOUR])
    const sources = await day(store, 'source', '2026-01-17')
    expect(sources.map((r) => [r.value, r.sessions])).toEqual([
      ['Direct', 1],
      ['Google', 1],
    ])
    expect((await day(store, 'country', '2026-01-17')).map((r) => r.value)).toContain('DE')
    expect((await day(store, 'event', '2026-01-17'))[0]).toMatchObject({
      value: 'signup',
      events: 1,
    })
  })

  it('reports how far a long import got', async () => {
    const { store } = await openStore()
    const at = (minutes: number) =>
      line({
        ip: '192.0.2.1',
        user_agent: CHROME,
        type: 'page_view',
        url: page('/'),
        timestamp: D1 + minutes * MIN,
      })
    const progress: Array<{ lines: number; through: number }> = []
    await importHistoryFile({
      store,
      site,
      lines: linesOf([at(0), at(1), '{bad', at(3), at(4)]),
      options: options(),
      progressEvery: 2,
      onProgress: (p) => progress.push(p),
    })
    // At line 4 the bad line 3 has not moved the time: it is still line 2's.
    expect(progress).toEqual([
      { lines: 2, through: D1 },
      { lines: 4, through: D1 + MIN },
    ])
  })

  it('stops at a line out of time order, keeping whole hours written before it', async () => {
    const { store } = await openStore()
    const at = (hours: number) =>
      line({
        ip: '192.0.2.1',
        user_agent: CHROME,
        type: 'page_view',
        url: page('/'),
        timestamp: D1 + hours * HOUR,
      })
    const stopped = await importHistoryFile({
      store,
      site,
      lines: linesOf([at(0), at(1), at(2), at(0.5)]),
      // Write at every hour boundary, to see what a stop keeps.
      options: options(1),
    }).catch((error: unknown) => error)
    expect(stopped).toBeInstanceOf(HistoryImportError)
    expect(stopped).toMatchObject({
      at: 4,
      countedThrough: D1 + HOUR,
      message: expect.stringMatching(/^line 4: .*time order/),
    })
    const hours = await store.readRollups({
      grain: 'hour',
      site_id: 'shop',
      dim: '',
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
    })
    expect(hours.map((h) => [h.bucket, h.pageviews])).toEqual([
      [D1 / HOUR, 1],
      [D1 / HOUR + 1, 1],
    ])
    // The rerun with the lines after that hour completes the day.
    await importHistoryFile({ store, site, lines: linesOf([at(2)]), options: options(1) })
    expect((await day(store, '', '2026-01-17'))[0]?.pageviews).toBe(3)
  })
})

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'src', 'entry', 'import-history.ts')

describe('npm run import', () => {
  const cli = (dataDir: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    )

  /**
   * A data directory with the site, and a file of page views at these minutes after 10:00 UTC
   * three days ago: never across a midnight, where the visitor's daily salt (and with it the
   * session of a visitor without a session id) changes.
   */
  async function dataDirWithFile(minutes: readonly number[]) {
    const { store, dir } = await openStore()
    await store.close()
    const day = 24 * HOUR
    const start = Math.floor((Date.now() - 3 * day) / day) * day + 10 * HOUR
    const file = join(dir, 'history.ndjson')
    const views = minutes.map((m) =>
      line({
        ip: '192.0.2.1',
        user_agent: CHROME,
        type: 'page_view',
        url: page(`/p${m}`),
        timestamp: start + m * MIN,
      }),
    )
    writeFileSync(file, views.join('\n'))
    return { dir, file }
  }

  it('refuses a database a newer release wrote, in a line, exit 3, and leaves it as it was', async () => {
    const { dir, file } = await dataDirWithFile([0])
    const database = join(dir, 'liveinsight.db')
    const db = new Database(database)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    const refused = await cli(dir, ['--site', 'shop', file])
    expect(refused.code).toBe(3)
    expect(refused.stderr).toBe(
      `liveinsight import: ${database} was written by a newer release of LiveInsight (schema version ${SCHEMA_VERSION + 1}; this release reads up to ${SCHEMA_VERSION}): upgrade LiveInsight to that release or a later one\n`,
    )
    const after = new Database(database, { readonly: true })
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1)
    after.close()
  })

  it('imports a file into the data directory once, and refuses it a second time', async () => {
    const { dir, file } = await dataDirWithFile([0, 10, 20])

    const first = await cli(dir, ['--site', 'shop', file])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout)).toEqual({
      site: 'shop',
      imported: 3,
      duplicates: 0,
      sessions: 1,
      bots: 0,
      rejected: 0,
    })
    const again = await cli(dir, ['--site', 'shop', file])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/line 1: site shop already has counters/)
    expect(again.stderr).toMatch(/nothing was imported/)
    const unknown = await cli(dir, ['--site', 'nope', file])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no site "nope" .*sites: shop/)
    const usage = await cli(dir, [file])
    expect(usage.code).toBe(1)
    expect(usage.stderr).toMatch(/usage: npm run import -- --site SITE_ID/)
    const help = await cli(dir, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^usage: npm run import -- --site SITE_ID/)
    expect(help.stderr).not.toMatch(/Unknown option/)
  })

  it('refuses to run next to a server on the same data directory', async () => {
    const { dir, file } = await dataDirWithFile([0])
    const config = parseConfig({ PORT: '0', DATA_DIR: dir, SQLITE_SYNCHRONOUS: 'NORMAL' })
    const server = await startEmbedded(config, createLogger('silent'))
    const refused = await cli(dir, ['--site', 'shop', file])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `in use by another LiveInsight process (pid ${process.pid}, server): stop it first`,
    )
    await server.close()
    // Closed: the folder is free, its holder's record gone, and the import runs.
    expect(existsSync(holderFile(dir))).toBe(false)
    const imported = await cli(dir, ['--site', 'shop', file])
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 1 })
  })

  it('ignores the record a killed server left behind', async () => {
    const { dir, file } = await dataDirWithFile([0])
    // A pid that existed and is gone: a process that has exited.
    const gone = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', ''])
      child.on('exit', () => resolve(child.pid as number))
    })
    writeFileSync(holderFile(dir), `${gone} server\n`)
    const result = await cli(dir, ['--site', 'shop', file])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })
})
