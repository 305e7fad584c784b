import { MessageChannel } from 'node:worker_threads'
import type { AcceptOutcome } from '../../accept/accept-stage.ts'
import type { AcceptRequest } from '../../accept/prepare-request.ts'
import type { RealtimeSnapshot } from '../../live/live-window.ts'
import type { Logger } from '../../log/logger.ts'
import type { Pipeline } from '../../pipeline/pipeline.ts'
import type { SweepPolicy, SweepResult } from '../../storage/store.ts'
import { workerModule } from '../../threads/spawn-worker.ts'
import { WorkerClient } from '../../threads/worker-client.ts'
import type {
  AcceptCall,
  AcceptResults,
  RollupCall,
  RollupResults,
  ThreadedSetup,
  WorkerSetup,
} from './worker-protocol.ts'

/**
 * A worker's garbage is short-lived (one batch at a time): a small young generation keeps each
 * thread's heap small, at no cost in throughput (bench/NOTES.md).
 */
const LIMITS = { maxYoungGenerationSizeMb: 4 }

/**
 * The embedded server's pipeline: the accept stage and the roll-up stage on two worker
 * threads, each with its own connection to the store `entry/` chose (`ThreadedSetup.stores`).
 * The accept worker commits accepted events (an answer comes only after that commit, so an
 * acknowledged event is durable) and keeps the live window; the roll-up worker rolls them up
 * and sweeps. The HTTP thread never waits on an fsync or a roll-up, and roll-up work never
 * delays an accept by more than its short write transaction. If a worker dies, its calls in
 * flight fail (an accept's request gets a 503 and the tracker retries) until a new one has
 * started; whatever was accepted is still queued in storage, so nothing acknowledged is lost.
 */
export class ThreadedPipeline implements Pipeline {
  private readonly acceptor: WorkerClient<AcceptCall, AcceptResults>
  private readonly roller: WorkerClient<RollupCall, RollupResults>
  /** Requests of this turn of the event loop, posted together at its end (`post`). */
  private outbox: Array<{
    request: AcceptRequest
    resolve: (outcome: AcceptOutcome) => void
    reject: (error: Error) => void
  }> = []

  constructor(setup: ThreadedSetup, logger: Logger) {
    const { stores, ...common } = setup
    const worker = <Call extends { op: string }, Results extends Record<Call['op'], unknown>>(
      name: string,
      module: string,
      store: WorkerSetup['store'],
    ) =>
      new WorkerClient<Call, Results>(
        name,
        workerModule(module, import.meta.url),
        { ...common, store } satisfies WorkerSetup,
        logger,
        LIMITS,
      )
    this.acceptor = worker<AcceptCall, AcceptResults>(
      'accept worker',
      'accept-worker',
      stores.accept,
    )
    this.roller = worker<RollupCall, RollupResults>(
      'roll-up worker',
      'rollup-worker',
      stores.rollup,
    )
    this.acceptor.onRestart = () => this.connect()
    this.roller.onRestart = () => this.connect()
    this.connect()
  }

  /**
   * A fresh channel from the accept worker to the roll-up worker (worker-protocol `handoff`).
   * The accept worker gets its end before any later accept call, as messages keep their
   * order; hand-overs posted while the roll-up worker was down are read from the queue table.
   */
  private connect(): void {
    if (!this.acceptor.running || !this.roller.running) return
    const { port1, port2 } = new MessageChannel()
    void this.acceptor.call({ op: 'handoff', port: port1 }, [port1]).catch(() => undefined)
    void this.roller.call({ op: 'handoff', port: port2 }, [port2]).catch(() => undefined)
  }

  /**
   * Posted at the end of this turn with the turn's other requests: one message instead of one
   * per request, and the body text leaves this thread's memory within the turn rather than
   * being kept until its commit.
   */
  accept(request: AcceptRequest): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      if (this.outbox.length === 0) setImmediate(() => this.post())
      this.outbox.push({ request, resolve, reject })
    })
  }

  private post(): void {
    const sent = this.outbox
    if (sent.length === 0) return
    this.outbox = []
    const requests = sent.map((s) => s.request)
    // Only the callbacks wait for the answer: the bodies were copied by postMessage.
    const waiting = sent.map(({ resolve, reject }) => ({ resolve, reject }))
    this.acceptor.call({ op: 'accept', requests }).then(
      (outcomes) => {
        for (const [i, { resolve }] of waiting.entries()) {
          resolve(outcomes[i] ?? { error: 'no answer for a request' })
        }
      },
      (error: Error) => {
        for (const { reject } of waiting) reject(error)
      },
    )
  }

  /** Messages keep their order, so every accept answered before this call is in the window. */
  liveSnapshot(siteId: string, now: number): Promise<RealtimeSnapshot> {
    return this.acceptor.call({ op: 'live', siteId, now })
  }

  settle(): Promise<void> {
    return this.roller.call({ op: 'settle' })
  }

  sweep(policy: SweepPolicy): Promise<SweepResult> {
    return this.roller.call({ op: 'sweep', policy })
  }

  async close(): Promise<void> {
    // Ahead of the close message: messages keep their order.
    this.post()
    await this.acceptor.close({ op: 'close' })
    await this.roller.close({ op: 'close' })
  }
}
