import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { createLogger } from '../../log/logger.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import { RollupStage } from '../../rollup/rollup-stage.ts'
import { SqliteStore } from '../../storage/sqlite/sqlite-store.ts'
import type { Handover, HandoverTaken } from '../../storage/store.ts'
import { serveCalls } from '../../threads/serve-calls.ts'
import type { RollupCall, RollupResults, WorkerSetup } from './worker-protocol.ts'

/** How often the roll-up looks at the queue even when no accept woke it. */
const SAFETY_POKE_MS = 5000

/**
 * The embedded server's roll-up worker: the roll-up stage (rollup/rollup-stage.ts) and the
 * sweep on a thread of their own with their own connection, holding SQLite's write lock only
 * while they write, so accepts never wait long behind them.
 */
const port = parentPort
if (!port) throw new Error('rollup-worker: must run as a worker thread')
const setup = workerData as WorkerSetup
const logger = createLogger(setup.logLevel).child({ thread: 'rollup' })
// Commits without waiting for the disk (synchronous NORMAL; WAL keeps each commit atomic).
// Its transaction both writes the counters and retires their queue entries, so one lost to a
// power cut is simply rolled up again from the queue, which the accept worker's fsync had
// made durable; and each accept's fsync also makes every earlier roll-up commit durable.
const store = new SqliteStore({
  file: setup.file,
  synchronous: 'NORMAL',
  busyTimeoutMs: setup.busyTimeoutMs,
  maxPageCount: setup.maxPageCount,
})
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
        noteBehind(store.takeHandover(handover))
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
