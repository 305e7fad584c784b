import type { Worker } from 'node:worker_threads'
import { spawnWorker, workerModule } from '../../threads/spawn-worker.ts'
import { type ConnectionOptions, storageError } from './connection.ts'
import type { UnitRows } from './rollup-commit.ts'

export interface CommitThreadSetup extends ConnectionOptions {
  file: string
}

type Call = { op: 'write'; unit: UnitRows } | { op: 'close' }
export type CommitThreadCall = Call & { id: number }
/** `code`: SQLite's result code of a failed write, so a full disk reads as one here too. */
export type CommitThreadAnswer = { id: number; error?: string; code?: string }

/**
 * A thread that runs a SqliteStore's unit writes on its own connection (commit-thread-worker.ts),
 * in the order they were handed over. A history import computes a unit's sessions and counters
 * in JavaScript and then writes them in SQLite in about equal parts: with the write on this
 * thread, the next unit is computed on the other core meanwhile.
 */
export class CommitThread {
  private readonly worker: Worker
  private nextId = 1
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  private failure: Error | undefined

  constructor(setup: CommitThreadSetup) {
    this.worker = spawnWorker(workerModule('commit-thread-worker', import.meta.url), setup)
    this.worker.on('message', (answer: CommitThreadAnswer) => {
      const call = this.pending.get(answer.id)
      this.pending.delete(answer.id)
      if (answer.error === undefined) call?.resolve()
      else {
        const error = new Error(`SqliteStore commit thread: ${answer.error}`)
        call?.reject(storageError(Object.assign(error, { code: answer.code })) as Error)
      }
    })
    this.worker.on('error', (error) => this.fail(error))
    this.worker.on('exit', (code) => this.fail(new Error(`exited with code ${code}`)))
  }

  /** Resolves once the unit is committed; rejects with why it was not. */
  write(unit: UnitRows): Promise<void> {
    return this.call({ op: 'write', unit })
  }

  async close(): Promise<void> {
    if (this.failure === undefined) await this.call({ op: 'close' }).catch(() => undefined)
    await this.worker.terminate()
  }

  private call(call: Call): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...call, id } satisfies CommitThreadCall)
    })
  }

  private fail(cause: Error): void {
    this.failure ??= new Error(`SqliteStore commit thread: ${cause.message}`)
    for (const call of this.pending.values()) call.reject(this.failure)
    this.pending.clear()
  }
}
