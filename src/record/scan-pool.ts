import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { spawnWorker, workerModule } from '../threads/spawn-worker.ts'
import type { Candidates } from './candidate-index.ts'
import type { ColumnarPart } from './columnar-record.ts'
import {
  ALL_VISITORS,
  addTally,
  type ColumnarReportInput,
  reportOfTallies,
  scanTallies,
  type TallyArrays,
  type TallySpec,
  tallySpecs,
  type VisitorShare,
} from './columnar-report.ts'
import type { FilteredStatsReport } from './filtered-report.ts'
import type { ScanAnswer, ScanCall } from './scan-calls.ts'

/**
 * The columnar report's scan on worker threads (issue 26, item 5): a busy site's 30 days are
 * millions of events, and scanning them on the HTTP thread would hold the collector and the
 * live view for as long.
 *
 * Each worker tallies a disjoint share of the visitors (VisitorShare), with all
 * their sessions from both parts: visitor-days are per visitor, so the shares' counts add up
 * to exactly the whole's. This thread compiles the query (the dictionaries stay here), adds
 * the shares and builds the report.
 *
 * A worker that dies or does not answer fails its calls; those queries are scanned on this
 * thread instead (logged), and a new worker starts with the next query a second later.
 */
export interface ScanPoolOptions {
  /** Worker threads (at least 1). */
  threads: number
  logger: {
    warn(fields: object, message: string): void
    error(fields: object, message: string): void
  }
  /** The worker module (tests); default scan-worker next to this module or the bundle. */
  module?: URL
  workerData?: unknown
  /** A scan not answered by then ends its worker (default 60 s). */
  timeoutMs?: number
  /**
   * Shares are blocks of 2^shareBlockBits visitor numbers (default 6); tests take 0 so that
   * a small world's few visitors are spread over the workers.
   */
  shareBlockBits?: number
}

/** The threads for a setting: 0 none (scan on the HTTP thread), else 1 to the cores. */
export function scanThreads(setting: number): number {
  return setting === 0 ? 0 : Math.max(1, Math.min(setting, availableParallelism()))
}

const RESPAWN_DELAY_MS = 1000

interface Pending {
  resolve: (tallies: TallyArrays[]) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

/** One thread: what it was sent, and its calls in flight. */
class ScanWorker {
  private worker: Worker | null = null
  private diedAt = Number.NEGATIVE_INFINITY
  /** Per slot: the version of the closed part this thread holds. */
  private readonly sent = new Map<string, number>()
  /** Per slot: the version of the open tail this thread holds. */
  private readonly sentTail = new Map<string, number>()
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  closing = false

  constructor(
    private readonly name: string,
    private readonly options: ScanPoolOptions,
    private readonly module: URL,
  ) {}

  /** Whether it can take a call now (started if it was not and may be). */
  ready(): boolean {
    if (this.worker) return true
    if (this.closing || Date.now() - this.diedAt < RESPAWN_DELAY_MS) return false
    try {
      this.worker = this.spawn()
    } catch (error) {
      this.diedAt = Date.now()
      this.options.logger.error({ err: error, worker: this.name }, 'record scan worker failed')
      return false
    }
    return true
  }

  private spawn(): Worker {
    const worker = spawnWorker(this.module, this.options.workerData)
    // Idle workers do not keep the process alive; one with a call in flight does.
    worker.unref()
    worker.on('message', (answer: ScanAnswer) => {
      const call = this.pending.get(answer.id)
      if (!call) return
      this.settle(answer.id)
      if (answer.ok) call.resolve(answer.tallies)
      else call.reject(new Error(`${this.name}: ${answer.message}`))
    })
    worker.on('error', (error) => {
      this.options.logger.error({ err: error, worker: this.name }, 'record scan worker failed')
    })
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = null
        this.diedAt = Date.now()
      }
      this.sent.clear()
      this.sentTail.clear()
      const calls = [...this.pending.values()]
      for (const id of [...this.pending.keys()]) this.settle(id)
      for (const call of calls) call.reject(new Error(`${this.name} exited with code ${code}`))
      if (!this.closing) {
        this.options.logger.error({ code, worker: this.name }, 'record scan worker exited')
      }
    })
    return worker
  }

  private settle(id: number): void {
    const call = this.pending.get(id)
    if (!call) return
    clearTimeout(call.timer)
    this.pending.delete(id)
    if (this.pending.size === 0) this.worker?.unref()
  }

  scan(
    slot: string,
    version: number,
    closed: ColumnarPart,
    tail: ColumnarPart,
    specs: TallySpec[],
    share: VisitorShare,
    candidates: Array<Candidates | null>,
    byDay: boolean,
  ): Promise<TallyArrays[]> {
    const worker = this.worker
    if (!worker) return Promise.reject(new Error(`${this.name} is not running`))
    const id = this.nextId++
    const known = this.sent.get(slot) === version
    this.sent.set(slot, version)
    const tailVersion = versionOf(tail)
    // An empty tail is sent with the call and not held (scan-calls.ts: `tailOnce`).
    const once = tail.sessions === 0
    const knownTail = !once && this.sentTail.get(slot) === tailVersion
    if (!once) this.sentTail.set(slot, tailVersion)
    return new Promise<TallyArrays[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.options.logger.error({ worker: this.name }, 'record scan worker did not answer')
        void worker.terminate()
      }, this.options.timeoutMs ?? 60_000)
      timer.unref()
      if (this.pending.size === 0) worker.ref()
      this.pending.set(id, { resolve, reject, timer })
      try {
        worker.postMessage({
          op: 'scan',
          id,
          slot,
          version,
          closed: known ? null : closed,
          tailVersion,
          tail: knownTail ? null : tail,
          tailOnce: once,
          specs,
          byDay,
          share,
          candidates,
        } satisfies ScanCall)
      } catch (error) {
        // Not sent (a value that cannot cross): the worker is fine, the call fails.
        this.settle(id)
        this.sent.delete(slot)
        this.sentTail.delete(slot)
        reject(error as Error)
      }
    })
  }

  forget(slot: string): void {
    this.sentTail.delete(slot)
    if (!this.sent.delete(slot)) return
    this.worker?.postMessage({ op: 'forget', slot } satisfies ScanCall)
  }

  async close(): Promise<void> {
    this.closing = true
    await this.worker?.terminate()
  }
}

/** Numbers for parts' versions (closed parts and tails), as workers know them. */
const versions = new WeakMap<ColumnarPart, number>()
let nextVersion = 1

function versionOf(part: ColumnarPart): number {
  let version = versions.get(part)
  if (version === undefined) {
    version = nextVersion++
    versions.set(part, version)
  }
  return version
}

export class ScanPool {
  private readonly workers: ScanWorker[]

  constructor(private readonly options: ScanPoolOptions) {
    const module = options.module ?? workerModule('scan-worker', import.meta.url)
    this.workers = Array.from(
      { length: Math.max(1, options.threads) },
      (_, i) => new ScanWorker(`record scan worker ${i + 1}`, options, module),
    )
  }

  /**
   * columnarReport over `[closed, tail]`, scanned by the workers: `closed` is the site's
   * (`slot`) part held between queries, `tail` this query's open sessions.
   */
  async report(
    slot: string,
    input: ColumnarReportInput & { parts: readonly [ColumnarPart, ColumnarPart] },
  ): Promise<FilteredStatsReport> {
    const specs = tallySpecs(input.dicts, input.query)
    const candidates = input.candidates ?? null
    const tallies = await this.tallies(
      slot,
      input.parts,
      specs,
      specs.map(() => candidates),
    )
    return reportOfTallies(input, specs, tallies)
  }

  /**
   * The tallies of `specs` over `[closed, tail]`, each spec with its own groups of `closed`
   * to read (`candidates[i]`; null: all), the workers' shares added up (`byDay`: days of one
   * filter set in one pass, scan-calls.ts). On this thread when no worker can take them, or
   * when the workers fail.
   */
  async tallies(
    slot: string,
    parts: readonly [ColumnarPart, ColumnarPart],
    specs: TallySpec[],
    candidates: Array<Candidates | null>,
    byDay = false,
  ): Promise<TallyArrays[]> {
    const [closed, tail] = parts
    const here = () => scanTallies(specs, parts, ALL_VISITORS, candidates, byDay)
    const ready = this.workers.filter((w) => w.ready())
    if (ready.length === 0) return here()
    const version = versionOf(closed)
    try {
      const answers = await Promise.all(
        ready.map((w, i) =>
          w.scan(
            slot,
            version,
            closed,
            tail,
            specs,
            { index: i, of: ready.length, blockBits: this.options.shareBlockBits ?? 6 },
            candidates,
            byDay,
          ),
        ),
      )
      const tallies = answers[0] as TallyArrays[]
      for (const more of answers.slice(1)) {
        tallies.forEach((t, i) => {
          addTally(t, more[i] as TallyArrays)
        })
      }
      return tallies
    } catch (error) {
      this.options.logger.warn(
        { err: error, site: slot },
        'record scan workers failed: this query is scanned on the HTTP thread',
      )
      return here()
    }
  }

  /** The site's closed part is no longer asked: workers let it go. */
  forget(slot: string): void {
    for (const w of this.workers) w.forget(slot)
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()))
  }
}
