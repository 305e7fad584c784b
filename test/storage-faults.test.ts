import { execFileSync } from 'node:child_process'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FullDatabase, fullDatabase } from '../src/testing/full-database.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import {
  CHROME_UA,
  startTestServer,
  TEST_API_KEY,
  type TestServer,
} from './support/embedded-server.ts'

/**
 * Storage faults against the real server (worker threads, their own connections) over a real
 * file: a write lock another connection holds, and a full disk (SQLite's max_page_count on
 * the server's connections, and where the test may mount one, a full tmpfs). A request that
 * cannot be stored answers a retryable 503 and stores nothing; a stored one is stored whole;
 * once the fault clears the next request is stored and the roll-up counts everything exactly
 * once, with nothing moved to the dead letters.
 */

/** Short, so a locked database fails in a fraction of a second (the default is 5 s). */
const BUSY_MS = 150
const PASSWORD = 'storage-faults-password'
/** 4 KiB pages: 8 MiB. Far above what a fresh database takes, far below what the test fills. */
const MAX_PAGES = 2048
/** More than three roll-up runs (500 ms apart): past the failures that start isolating an item. */
const ROLLUP_FAILURES_MS = 2500
/** Pages left free on the "full" disk. */
const SPARE_PAGES = 2

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Events as large as the schema allows, so every batch needs new pages of the file. */
function batch(tag: string, count: number) {
  const now = Date.now()
  return {
    events: Array.from({ length: count }, (_, i) => ({
      session_id: `${tag}-${i}`,
      event_id: `${tag}-${i}`,
      event_type: 'page_view',
      timestamp: now - 1000,
      page_url: `https://faults.example/${tag}/${i}/${'p'.repeat(1900)}`,
      title: 't'.repeat(500),
    })),
  }
}

/** POST /api/events without waiting for the roll-up (TestServer.post settles it). */
function send(t: TestServer, body: unknown): Promise<Response> {
  return fetch(`${t.url}/api/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': TEST_API_KEY,
      'user-agent': CHROME_UA,
    },
    body: JSON.stringify(body),
  })
}

async function expectRetryable(res: Response): Promise<void> {
  expect(res.status).toBe(503)
  expect(res.headers.get('retry-after')).toBe('1')
  expect(await res.json()).toEqual({ status: 'error', message: expect.any(String) })
}

/** Raw events stored for a tag's batch, read on any connection to the file. */
function stored(db: Database.Database, tag: string): number {
  return db
    .prepare('SELECT count(*) FROM events WHERE client_session_id LIKE ?')
    .pluck()
    .get(`${tag}-%`) as number
}

function deadLetters(db: Database.Database): number {
  return db.prepare('SELECT count(*) FROM ingest_dead_letter').pluck().get() as number
}

function backlog(db: Database.Database): number {
  return db
    .prepare('SELECT coalesce(sum(item_count - dropped), 0) FROM ingest_batch')
    .pluck()
    .get() as number
}

/** The site's counters as the stats API reports them (the cache is off). */
async function counted(t: TestServer, token: string) {
  const res = await fetch(`${t.url}/api/stats?site=default&period=7d`, {
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.status).toBe(200)
  const { summary } = (
    (await res.json()) as {
      data: { summary: Record<string, { value: number }> }
    }
  ).data
  return { pageviews: summary.pageviews?.value, sessions: summary.sessions?.value }
}

/**
 * Accepts `body` and has `fault` start before the roll-up takes it: the roll-up has just run,
 * so the next run is an interval (500 ms) away. Tries again if the roll-up got there first
 * anyway (a slow machine); returns with the fault on and the batch waiting.
 */
async function acceptThenFault(
  t: TestServer,
  db: Database.Database,
  tag: string,
  fault: { start: () => void; stop: () => void },
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await t.server.settle()
    const res = await send(t, batch(`${tag}${attempt}`, 20))
    expect(res.status).toBe(200)
    fault.start()
    if (backlog(db) > 0) return 20 * (attempt + 1)
    fault.stop()
  }
  throw new Error('the roll-up always took the batch before the fault started')
}

function lockedBy(file: string) {
  const locker = new Database(file)
  return {
    locker,
    start: () => locker.exec('BEGIN IMMEDIATE'),
    stop: () => {
      if (locker.inTransaction) locker.exec('ROLLBACK')
    },
  }
}

describe('a database locked by another connection', () => {
  let t: TestServer
  let token: string
  let lock: ReturnType<typeof lockedBy>
  let expected = 0

  beforeAll(async () => {
    t = await startTestServer({
      SQLITE_BUSY_TIMEOUT_MS: String(BUSY_MS),
      STATS_CACHE_SECONDS: '0',
      ADMIN_PASSWORD: PASSWORD,
      // The workers would log every expected failure.
      LOG_LEVEL: 'silent',
    })
    token = await t.signIn()
    lock = lockedBy(t.server.databaseFile)
  })
  afterAll(async () => {
    lock.stop()
    lock.locker.close()
    await t.stop()
  })

  it('refuses a batch with a retryable 503 after the busy timeout and stores none of it', async () => {
    expect((await t.post(batch('lock-a', 10))).status).toBe(200)
    expected += 10
    lock.start()
    try {
      const started = performance.now()
      await expectRetryable(await send(t, batch('lock-b', 10)))
      // It waited for the lock as long as SQLITE_BUSY_TIMEOUT_MS says, not the default 5 s
      // (with room for a loaded machine).
      expect(performance.now() - started).toBeLessThan(4000)
      expect(stored(lock.locker, 'lock-b')).toBe(0)
    } finally {
      lock.stop()
    }
    // Recovered by itself: the next batch is stored, and only the refused one is missing.
    expect((await t.post(batch('lock-c', 10))).status).toBe(200)
    expected += 10
    expect(stored(t.db(), 'lock-a')).toBe(10)
    expect(stored(t.db(), 'lock-b')).toBe(0)
    expect(stored(t.db(), 'lock-c')).toBe(10)
    expect(await counted(t, token)).toEqual({ pageviews: expected, sessions: expected })
  })

  it('answers 503 to a site created or a key rotated under the lock, and not 500', async () => {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    lock.start()
    try {
      const created = await fetch(`${t.url}/api/sites`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ name: 'Locked', domain: 'locked.example' }),
      })
      await expectRetryable(created)
      const rotated = await fetch(`${t.url}/api/sites/default/rotate-key`, {
        method: 'POST',
        headers: auth,
      })
      await expectRetryable(rotated)
    } finally {
      lock.stop()
    }
    // The ingest key did not change.
    expect((await t.post(batch('lock-d', 1))).status).toBe(200)
    expected += 1
  })

  it('has the roll-up wait out the lock and then count what waited exactly once', async () => {
    expected += await acceptThenFault(t, lock.locker, 'lock-r', lock)
    try {
      await sleep(ROLLUP_FAILURES_MS)
      expect(backlog(lock.locker)).toBeGreaterThan(0)
    } finally {
      lock.stop()
    }
    await t.server.settle()
    expect(deadLetters(t.db())).toBe(0)
    expect(backlog(t.db())).toBe(0)
    expect(await counted(t, token)).toEqual({ pageviews: expected, sessions: expected })
  })
})

describe('a full disk (the page limit of the server connections)', () => {
  let t: TestServer
  let token: string
  let disk: FullDatabase
  let expected = 0

  beforeAll(async () => {
    t = await startTestServer({
      SQLITE_BUSY_TIMEOUT_MS: String(BUSY_MS),
      SQLITE_MAX_PAGE_COUNT: String(MAX_PAGES),
      STATS_CACHE_SECONDS: '0',
      ADMIN_PASSWORD: PASSWORD,
      // The workers would log every expected failure.
      LOG_LEVEL: 'silent',
    })
    token = await t.signIn()
    // A disk all but full: a small write (a dead letter) still fits, the roll-up's does not.
    disk = fullDatabase(t.server.databaseFile, MAX_PAGES, SPARE_PAGES)
  })
  afterAll(async () => {
    disk.close()
    await t.stop()
  })

  it('refuses a batch with a retryable 503 and stores none of it, then recovers', async () => {
    expect((await t.post(batch('full-a', 20))).status).toBe(200)
    expected += 20
    disk.start()
    try {
      await expectRetryable(await send(t, batch('full-b', 20)))
      expect(stored(disk.filler, 'full-b')).toBe(0)
    } finally {
      disk.stop()
    }
    expect((await t.post(batch('full-c', 20))).status).toBe(200)
    expected += 20
    expect(stored(t.db(), 'full-a')).toBe(20)
    expect(stored(t.db(), 'full-b')).toBe(0)
    expect(stored(t.db(), 'full-c')).toBe(20)
    expect(await counted(t, token)).toEqual({ pageviews: expected, sessions: expected })
  })

  it('has the roll-up wait out a full disk and then count what waited exactly once', async () => {
    expected += await acceptThenFault(t, disk.filler, 'full-r', disk)
    try {
      await sleep(ROLLUP_FAILURES_MS)
      expect(backlog(disk.filler)).toBeGreaterThan(0)
    } finally {
      disk.stop()
    }
    await t.server.settle()
    expect(deadLetters(t.db())).toBe(0)
    expect(backlog(t.db())).toBe(0)
    expect(await counted(t, token)).toEqual({ pageviews: expected, sessions: expected })
  })
})

/** Mounts a tmpfs of `size` at `dir`; false where this process may not (not root, a container). */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'ignore' })
}

/** Whether a tmpfs can be mounted here: tried once at load, on a directory of its own. */
const canMount = (() => {
  const probe = tempDir()
  const mounted = mountTmpfs(probe.path, '1m')
  if (mounted) unmount(probe.path)
  probe.remove()
  return mounted
})()

/** Fills a file system with one file until it refuses a byte more; deleting the file frees it. */
function fillUp(file: string): void {
  const fd = openSync(file, 'w')
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (error) {
          if ((error as { code?: string }).code !== 'ENOSPC') throw error
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
}

describe.skipIf(!canMount)('a full file system (a tmpfs, where it can be mounted)', () => {
  const mountPoint = tempDir()
  const ballast = join(mountPoint.path, 'ballast')
  let t: TestServer
  let token: string

  beforeAll(async () => {
    expect(mountTmpfs(mountPoint.path, '32m')).toBe(true)
    t = await startTestServer(
      {
        SQLITE_BUSY_TIMEOUT_MS: String(BUSY_MS),
        STATS_CACHE_SECONDS: '0',
        ADMIN_PASSWORD: PASSWORD,
        LOG_LEVEL: 'silent',
      },
      { dataDir: join(mountPoint.path, 'data') },
    )
    token = await t.signIn()
  })
  afterAll(async () => {
    await t?.stop()
    unmount(mountPoint.path)
    mountPoint.remove()
  })

  it('answers 503 once a write needs space, stores whole batches only, and recovers', async () => {
    let expected = 0
    expect((await t.post(batch('disk-a', 20))).status).toBe(200)
    expected += 20
    fillUp(ballast)
    // SQLite writes on into space its files already hold (a WAL reset after a checkpoint is
    // written over from the start): batches fail once one needs the file system to grow.
    const answers: number[] = []
    try {
      for (let i = 0; i < 100 && !answers.includes(503); i++) {
        const res = await send(t, batch(`disk-b${i}`, 20))
        answers.push(res.status)
        if (res.status === 503) await expectRetryable(res)
        else expect(res.status).toBe(200)
      }
      expect(answers).toContain(503)
    } finally {
      rmSync(ballast)
    }
    // Every batch is stored whole or not at all.
    for (const [i, status] of answers.entries()) {
      expect(stored(t.db(), `disk-b${i}`)).toBe(status === 200 ? 20 : 0)
      if (status === 200) expected += 20
    }
    expect((await t.post(batch('disk-c', 20))).status).toBe(200)
    expected += 20
    await t.server.settle()
    expect(deadLetters(t.db())).toBe(0)
    expect(backlog(t.db())).toBe(0)
    expect(await counted(t, token)).toEqual({ pageviews: expected, sessions: expected })
  })
})
