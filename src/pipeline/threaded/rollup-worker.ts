import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { createLogger } from '../../log/logger.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import { RollupStage } from '../../rollup/rollup-stage.ts'
import type { Handover, HandoverTaken } from '../../storage/store.ts'
import { serveCalls } from '../../threads/serve-calls.ts'
import { openStoreModule } from './store-module.ts'
import type { RollupCall, RollupResults, WorkerSetup } from './worker-protocol.ts'

/** How often the roll-up looks at the queue even when no accept woke it. */
const SAFETY_POKE_MS = 5000

/**
 * The threaded pipeline's roll-up worker: the roll-up stage (rollup/rollup-stage.ts) and the
 * sweep on a thread of their own with their own connection, holding the store's write lock
 * (SQLite has one) only while they write, so accepts never wait long behind them.
 */
const port = parentPort
if (!port) throw new Error('rollup-worker: must run as a worker thread')
const setup = workerData as WorkerSetup
const logger = createLogger(setup.logLevel, setup.logOutput).child({ thread: 'rollup' })
const store = await openStoreModule(setup.store)
const stage = new RollupStage(store, rollupOptions(setup.sessionTimeoutMs), logger)
let handoff: MessagePort | undefined

// Whatever a previous run accepted but did not roll up yet (a crash, a restart).
stage.poke()
// Accepts wake the roll-up through the hand-over channel; this catches anything accepted while
// no channel was connected (a worker restarting), at the cost of one empty query when idle.
setInterval(() => stage.poke(), SAFETY_POKE_MS).unref()

/**
 * Items left to the queue table since memory last took them. The roll-up reads them back from
 * there, which costs a little more and means it is behind, so an operator is told when that
 * starts and when it ends, once each.
 */
let leftToTable = 0
function noteBehind(taken: HandoverTaken): void {
  if (taken !== 'held') {
    if (leftToTable === 0) {
      logger.warn(
        { reason: taken },
        'roll-up behind: new entries are read back from the queue table until it catches up',
      )
    }
    leftToTable++
  } else if (leftToTable > 0) {
    logger.info({ commits: leftToTable }, 'roll-up caught up: entries are taken from memory again')
    leftToTable = 0
  }
}

async function answer(call: RollupCall): Promise<RollupResults[RollupCall['op']]> {
  switch (call.op) {
    case 'handoff':
      handoff?.close()
      handoff = call.port
      handoff.on('message', (handover: Handover) => {
        // Only a backend that takes hand-overs gives any (Accepted.handover).
        if (store.takeHandover) noteBehind(store.takeHandover(handover))
        stage.poke()
      })
      return undefined
    case 'settle':
      await stage.settle()
      return undefined
    case 'sweep':
      return store.sweep(call.policy)
    case 'close':
      await stage.settle()
      stage.close()
      await store.close()
      return undefined
  }
}

serveCalls(port, answer, logger)
