import { parentPort, workerData } from 'node:worker_threads'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { InProcessWriter } from './event-writer.ts'
import type { WriterAnswer, WriterCall, WriterResults, WriterSetup } from './writer-protocol.ts'

/**
 * The writer thread of the embedded server: its own connection to the SQLite file, the only
 * one that commits events and roll-ups. Calls are handled in arrival order; roll-up slices
 * run between them, so an accept waits for at most one slice.
 */
const port = parentPort
if (!port) throw new Error('writer-worker: must run as a worker thread')
const setup = workerData as WriterSetup
const logger = createLogger(setup.logLevel).child({ thread: 'writer' })
const store = new SqliteStore({ file: setup.file, synchronous: setup.synchronous })
const writer = new InProcessWriter(store, setup.sessionTimeoutMs, logger)

async function answer(call: WriterCall): Promise<WriterResults[keyof WriterResults]> {
  switch (call.op) {
    case 'accept':
      return writer.accept(call.events, call.bots)
    case 'settle':
      await writer.settle()
      return undefined
    case 'sweep':
      return writer.sweep(call.policy)
    case 'close':
      await writer.close()
      await store.close()
      return undefined
  }
}

port.on('message', (call: WriterCall) => {
  answer(call).then(
    (value) => port.postMessage({ id: call.id, ok: true, value } satisfies WriterAnswer),
    (error: unknown) => {
      logger.error({ err: error, op: call.op }, 'writer call failed')
      const message = error instanceof Error ? error.message : String(error)
      port.postMessage({ id: call.id, ok: false, message } satisfies WriterAnswer)
    },
  )
})
