import { parentPort } from 'node:worker_threads'
import type { CallMessage, WorkerAnswer } from '../../src/threads/serve-calls.ts'

export type CrashingCall = { op: 'echo'; value: string } | { op: 'die' }

/**
 * A stand-in worker for WorkerClient's tests: echoes every call's value at once, and dies
 * (exit code 7) on `die`.
 */
parentPort?.on('message', (call: CallMessage<CrashingCall>) => {
  if (call.op === 'die') process.exit(7)
  parentPort?.postMessage({ id: call.id, ok: true, value: call.value } satisfies WorkerAnswer)
})
