import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import { type ChildServer, exited, spawnServer } from './support/child-server.ts'
import { CHROME_UA } from './support/embedded-server.ts'

const API_KEY = 'shutdown_test_key_0123456789'
const dir = tempDir()
let server: ChildServer | undefined
afterAll(() => {
  // Only when the test failed: a server that did not stop is not left behind.
  server?.child.kill('SIGKILL')
  dir.remove()
})

/** Sends the headers and the first part of a body that says it is longer, then stalls. */
async function stalledUpload(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {}) // the server may reset it
  socket.write(
    [
      'POST /api/events HTTP/1.1',
      `Host: ${hostname}:${port}`,
      `X-API-Key: ${API_KEY}`,
      `User-Agent: ${CHROME_UA}`,
      'Content-Type: application/json',
      'Content-Length: 1000',
      '',
      '{"events":[{"session_id":"stalled",',
    ].join('\r\n'),
  )
  return socket
}

describe('shutdown', () => {
  it('ends within SHUTDOWN_TIMEOUT_SECONDS although a client stalls half-way through its body, keeping what it acknowledged', async () => {
    server = await spawnServer({
      DATA_DIR: dir.path,
      API_KEY,
      SHUTDOWN_TIMEOUT_SECONDS: '1',
      SQLITE_SYNCHRONOUS: 'NORMAL',
    })
    const stalled = await stalledUpload(server.url)
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
    // Sent after the stalled upload began, on a connection of its own: acknowledged before the
    // signal, so it must be stored and counted.
    const res = await fetch(`${server.url}/api/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': API_KEY,
        'user-agent': CHROME_UA,
      },
      body: JSON.stringify({
        events: [
          {
            event_id: 'acked-1',
            session_id: 's1',
            event_type: 'page_view',
            page_url: 'https://shutdown.example/',
          },
        ],
      }),
    })
    expect(res.status).toBe(200)

    server.child.kill('SIGTERM')
    // Without a deadline the server waits for the stalled body (Node's requestTimeout: 5 min);
    // the test's timeout is the only clock here.
    expect(await exited(server.child)).toBe(0)
    await closed
    expect(server.output()).toMatch(/shutdown deadline passed/)

    const db = new Database(join(dir.path, 'liveinsight.db'), { readonly: true })
    const stored = db.prepare('SELECT event_id FROM events').pluck().all()
    const counted = db
      .prepare("SELECT sum(pageviews) FROM rollup_day WHERE dim = '' AND site_id = 'default'")
      .pluck()
      .get()
    const queued = db.prepare('SELECT count(*) FROM ingest_batch').pluck().get()
    db.close()
    expect({ stored, counted, queued }).toEqual({ stored: ['acked-1'], counted: 1, queued: 0 })
  }, 20_000)
})
