import { describe, expect, it } from 'vitest'
import { createLogger } from '../log/logger.ts'
import type { CrashingCall } from '../testing/crashing-worker.ts'
import { WorkerClient } from './worker-client.ts'

const CRASHING = new URL('../testing/crashing-worker.ts', import.meta.url)

describe('worker client', () => {
  it('fails the calls of a worker that died, refuses calls while down, then starts a new one', async () => {
    const client = new WorkerClient<CrashingCall, { echo: string; die: undefined }>(
      'test worker',
      CRASHING,
      undefined,
      createLogger('silent'),
    )
    let restarts = 0
    client.onRestart = () => restarts++
    await expect(client.call({ op: 'echo', value: 'one' })).resolves.toBe('one')

    await expect(client.call({ op: 'die' })).rejects.toThrow(/test worker exited with code 7/)
    await expect(client.call({ op: 'echo', value: 'two' })).rejects.toThrow(/restarting/)

    // Back after the restart delay, answering again.
    let answered: string | undefined
    for (let i = 0; i < 60 && answered === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answered = await client.call({ op: 'echo', value: 'three' }).catch(() => undefined)
    }
    expect(answered).toBe('three')
    expect(restarts).toBe(1)
    await client.close({ op: 'echo', value: 'bye' })
  })
})
