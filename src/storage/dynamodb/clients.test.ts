import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageUnavailableError } from '../store.ts'
import { dynamoClients } from './clients.ts'
import { Requests } from './requests.ts'

/**
 * An endpoint that takes the connection and never answers (a hung proxy, a half-open
 * network path): each attempt gives up after its timeout, and the call fails as storage
 * unavailable, which the collector answers 503 and the roll-up retries, instead of hanging.
 */
describe('DynamoDB clients', () => {
  let server: Server | undefined
  const sockets: Socket[] = []
  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  })

  it('give up on an endpoint that never answers, as storage unavailable', async () => {
    server = createServer((socket) => {
      sockets.push(socket)
    })
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const clients = dynamoClients({
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 2,
      timeouts: { connectMs: 200, answerMs: 300 },
    })
    const started = Date.now()
    const read = new Requests(clients.doc).getItem('any-table', { pk: 'a', sk: 'b' })
    await expect(read).rejects.toBeInstanceOf(StorageUnavailableError)
    // Two attempts of 300 ms and the SDK's backoff between them: seconds, not forever.
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(sockets.length).toBeGreaterThanOrEqual(2)
    clients.ddb.destroy()
  })
})
