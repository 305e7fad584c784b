import { parentPort } from 'node:worker_threads'
import { serveScans } from './scan-calls.ts'

/** A thread of the record's scan pool (scan-pool.ts); built next to the server bundle. */
if (parentPort) serveScans(parentPort)
