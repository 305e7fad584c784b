import type { MessagePort } from 'node:worker_threads'
import { errorMessage } from '../core/error-message.ts'
import type { Logger } from '../log/logger.ts'

/** A call as it crosses to a worker: its op and arguments, and the id its answer carries. */
export type CallMessage<Call> = Call & { id: number }

export type WorkerAnswer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string }

/**
 * The worker side of WorkerClient: answers each call on `port` once, by id, with what
 * `answer` resolves to or the message of what it threw.
 */
export function serveCalls<Call extends { op: string }>(
  port: MessagePort,
  answer: (call: Call) => Promise<unknown>,
  logger: Logger,
): void {
  port.on('message', (call: CallMessage<Call>) => {
    answer(call).then(
      (value) => port.postMessage({ id: call.id, ok: true, value } satisfies WorkerAnswer),
      (error: unknown) => {
        logger.error({ err: error, op: call.op }, 'worker call failed')
        port.postMessage({
          id: call.id,
          ok: false,
          message: errorMessage(error),
        } satisfies WorkerAnswer)
      },
    )
  })
}
