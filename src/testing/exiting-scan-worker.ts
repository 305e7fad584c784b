import { parentPort } from 'node:worker_threads'

/** A scan worker for tests that dies (exit code 9) on its first call, as a crash would. */
parentPort?.on('message', () => process.exit(9))
