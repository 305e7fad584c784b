import type { ResourceLimits, Transferable, Worker } from 'node:worker_threads'
import type { Logger } from '../log/logger.ts'
import type { CallMessage, WorkerAnswer } from './serve-calls.ts'
import { spawnWorker } from './spawn-worker.ts'

type Pending = { resolve: (value: never) => void; reject: (error: Error) => void }

/** How long a dead worker stays down before the next one starts. */
const RESPAWN_DELAY_MS = 1000

/**
 * One worker thread and its calls, each answered by id (the worker side is serve-calls.ts).
 * If the thread dies, the calls in flight fail, and so do calls until a new thread has
 * started a second later; the owner re-wires what it must in `onRestart`.
 */
export class WorkerClient<
  Call extends { op: string },
  Results extends Record<Call['op'], unknown>,
> {
  private worker: Worker | null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private closing = false

  /** Called after every restart (not the first start). */
  onRestart: () => void = () => undefined

  constructor(
    /** Names the worker in errors and logs. */
    private readonly name: string,
    private readonly module: URL,
    private readonly workerData: unknown,
    private readonly logger: Logger,
    private readonly limits: ResourceLimits = {},
  ) {
    this.worker = this.spawn()
  }

  get running(): boolean {
    return this.worker !== null
  }

  private spawn(): Worker {
    const worker = spawnWorker(this.module, this.workerData, this.limits)
    worker.on('message', (answer: WorkerAnswer) => {
      const call = this.pending.get(answer.id)
      if (!call) return
      this.pending.delete(answer.id)
      if (answer.ok) call.resolve(answer.value as never)
      else call.reject(new Error(`${this.name}: ${answer.message}`))
    })
    worker.on('error', (error) => this.logger.error({ err: error, worker: this.name }, 'failed'))
    worker.on('exit', (code) => {
      this.worker = null
      for (const call of this.pending.values()) {
        call.reject(new Error(`${this.name} exited with code ${code}`))
      }
      this.pending.clear()
      if (this.closing) return
      this.logger.error({ code, worker: this.name }, 'worker exited; restarting')
      // A worker that dies at once (a broken file) must not be restarted in a tight loop.
      setTimeout(() => {
        if (this.closing) return
        this.worker = this.spawn()
        this.onRestart()
      }, RESPAWN_DELAY_MS).unref()
    })
    return worker
  }

  call<K extends Call['op']>(
    call: Extract<Call, { op: K }>,
    transfer: readonly Transferable[] = [],
  ): Promise<Results[K]> {
    const worker = this.worker
    if (!worker) return Promise.reject(new Error(`${this.name} is restarting`))
    const id = this.nextId++
    return new Promise<Results[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject })
      worker.postMessage({ ...call, id } satisfies CallMessage<Call>, transfer)
    })
  }

  /** Sends the worker its closing call (it finishes its work and answers), then ends it. */
  async close(closing: Call): Promise<void> {
    if (this.closing) return
    try {
      if (this.worker) await this.call(closing as Extract<Call, { op: Call['op'] }>)
    } finally {
      this.closing = true
      await this.worker?.terminate()
    }
  }
}
