import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { AcceptStage } from '../../accept/accept-stage.ts'
import { createLogger } from '../../log/logger.ts'
import { serveCalls } from '../../threads/serve-calls.ts'
import { openStoreModule } from './store-module.ts'
import type { AcceptCall, AcceptResults, WorkerSetup } from './worker-protocol.ts'

/**
 * The threaded pipeline's accept worker: the accept stage (accept/accept-stage.ts) on a thread
 * of its own with its own connection to storage, so the thread answering HTTP never waits for
 * an fsync. It keeps the live window, which its commits feed.
 */
const port = parentPort
if (!port) throw new Error('accept-worker: must run as a worker thread')
const setup = workerData as WorkerSetup
const logger = createLogger(setup.logLevel, setup.logOutput).child({ thread: 'accept' })
const store = await openStoreModule(setup.store)
/** Where each commit's hand-over goes: the roll-up worker. */
let handoff: MessagePort | undefined
const stage = new AcceptStage(store, {
  logger,
  liveBudgetEntries: setup.liveBudgetEntries,
  handOver: (handover) => {
    try {
      handoff?.postMessage(handover)
    } catch (error) {
      // Committed already: the roll-up finds these items in the queue table instead.
      logger.error({ err: error }, 'hand-over to the roll-up failed')
    }
  },
})

async function answer(call: AcceptCall): Promise<AcceptResults[AcceptCall['op']]> {
  switch (call.op) {
    case 'accept':
      return stage.accept(call.requests)
    case 'live':
      return stage.snapshot(call.siteId, call.now)
    case 'handoff':
      handoff?.close()
      handoff = call.port
      return undefined
    case 'close':
      await stage.drain()
      await store.close()
      return undefined
  }
}

serveCalls(port, answer, logger)
