import { parentPort } from 'node:worker_threads'
import type { WriterAnswer, WriterCall } from '../ingest/writer-protocol.ts'

/**
 * A stand-in writer thread for WorkerClient's tests: answers every call at once, and dies
 * (exit code 7) on an accept of no requests.
 */
parentPort?.on('message', (call: WriterCall) => {
  if (call.op === 'accept' && call.requests.length === 0) process.exit(7)
  parentPort?.postMessage({ id: call.id, ok: true, value: undefined } satisfies WriterAnswer)
})
