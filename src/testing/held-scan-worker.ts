import { parentPort, workerData } from 'node:worker_threads'
import { serveScans } from '../record/scan-calls.ts'

/**
 * A scan worker for tests that must catch a scan under way: each scan waits until the test
 * sets `workerData.hold[0]` to 1 (shared memory, so it can be set while this thread waits).
 */
const { hold } = workerData as { hold: Int32Array }
if (parentPort) serveScans(parentPort, () => Atomics.wait(hold, 0, 0))
