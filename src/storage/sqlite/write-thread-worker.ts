/**
 * The write thread of a SqliteStore opened with `writeThread` (write-thread.ts): its own
 * connection to the file, running each unit's write transaction in the order they come.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../../core/error-message.ts'
import { openConnection } from './connection.ts'
import { SpanRollups } from './span-rollups.ts'
import { UnitWriter } from './unit-writer.ts'
import type { WriteThreadAnswer, WriteThreadCall, WriteThreadSetup } from './write-thread.ts'

const setup = workerData as WriteThreadSetup
const db = openConnection(setup.file, setup)
const writer = new UnitWriter(db, new SpanRollups(db))
/** After a failed write every later one is refused: it was computed on top of the failed one. */
let failed: string | undefined
const port = parentPort
if (!port) throw new Error('write-thread-worker: not started as a worker thread')

port.on('message', (call: WriteThreadCall) => {
  let answer: WriteThreadAnswer
  if (call.op === 'close') {
    db.close()
    answer = { id: call.id }
  } else if (failed !== undefined) {
    answer = { id: call.id, error: `not written: an earlier write failed (${failed})` }
  } else {
    try {
      writer.write(call.unit)
      answer = { id: call.id }
    } catch (error) {
      failed = errorMessage(error)
      answer = { id: call.id, error: failed }
    }
  }
  port.postMessage(answer)
})
