/**
 * The commit thread of a SqliteStore opened with `commitThread` (commit-thread.ts): its own
 * connection to the file, running each unit's write transaction in the order they come.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../../core/error-message.ts'
import type { CommitThreadAnswer, CommitThreadCall, CommitThreadSetup } from './commit-thread.ts'
import { openConnection } from './connection.ts'
import { RollupCommit } from './rollup-commit.ts'
import { SpanRollups } from './span-rollups.ts'

const setup = workerData as CommitThreadSetup
const db = openConnection(setup.file, setup)
const commits = new RollupCommit(db, new SpanRollups(db))
/** After a failed write every later one is refused: it was computed on top of the failed one. */
let failed: string | undefined
const port = parentPort
if (!port) throw new Error('commit-thread-worker: not started as a worker thread')

port.on('message', (call: CommitThreadCall) => {
  let answer: CommitThreadAnswer
  if (call.op === 'close') {
    db.close()
    answer = { id: call.id }
  } else if (failed !== undefined) {
    answer = { id: call.id, error: `not written: an earlier write failed (${failed})` }
  } else {
    try {
      commits.write(call.unit)
      answer = { id: call.id }
    } catch (error) {
      failed = errorMessage(error)
      const code = (error as { code?: unknown }).code
      answer = { id: call.id, error: failed, ...(typeof code === 'string' ? { code } : {}) }
    }
  }
  port.postMessage(answer)
})
