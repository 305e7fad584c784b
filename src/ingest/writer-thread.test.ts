import { describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import { makeSite } from '../testing/fixtures.ts'
import { WorkerClient } from './writer-thread.ts'

const CRASHING = new URL('../testing/crashing-writer.ts', import.meta.url)
const setup = {
  role: 'accept' as const,
  file: 'unused.db',
  synchronous: 'NORMAL' as const,
  sessionTimeoutMs: 60_000,
  logLevel: 'silent',
}

describe('writer thread client', () => {
  it('fails the calls of a thread that died, refuses calls while down, then starts a new one', async () => {
    const client = new WorkerClient(setup, createLogger('silent'), CRASHING)
    const request = { ip: '203.0.113.9', userAgent: 'test', country: '' }
    const requests = [{ site: makeSite(), body: '{}', request, receivedAt: 0 }]
    await expect(client.call<'accept'>({ op: 'accept', requests })).resolves.toBeUndefined()

    await expect(client.call<'accept'>({ op: 'accept', requests: [] })).rejects.toThrow(
      /exited with code 7/,
    )
    await expect(client.call({ op: 'settle' })).rejects.toThrow(/restarting/)

    // Back after the restart delay, answering again.
    let answered = false
    for (let i = 0; i < 60 && !answered; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answered = await client.call({ op: 'settle' }).then(
        () => true,
        () => false,
      )
    }
    expect(answered).toBe(true)
    await client.close()
  })
})
