import type { RollupQueue, RollupUnit } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import type { FoldWriter } from './fold-writer.ts'
import { hourlyDimensionsFrom } from './forgotten-events.ts'
import { lateSites, markLate } from './late-writes.ts'
import type { PulledStream } from './pulled-stream.ts'
import type { RecordWriter } from './record.ts'
import { importedItems } from './request-items.ts'
import type { StoreContext } from './requests.ts'

/**
 * The roll-up's side over the fold (issue 23, README.md "Counting once"): a unit runs over
 * the fold's memory and is stored as each site's next window (fold-writer.ts). Readers see
 * its sessions from then on (uncopied-sessions.ts); the sweep copies them into the Sessions
 * table later (session-projection.ts). Where the pending items come from is not its
 * business: a Lambda batch, or the local poller's backlog (PulledStream).
 */
export class FoldRollups implements Pick<RollupQueue, 'rollup'> {
  /** Serialises this process's units (as the stream serialises a shard's batches). */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly c: StoreContext,
    private readonly writer: FoldWriter,
    private readonly pulled: PulledStream,
    private readonly record: RecordWriter,
    /** Test hook: true fails the next unit after its windows are stored. */
    private readonly failWrite: (() => boolean) | undefined,
  ) {}

  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runUnit(work))
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Resolves once the units asked for so far have run. */
  async settled(): Promise<void> {
    await this.queue
  }

  private async runUnit<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    let late = new Set<string>()
    const run = await this.writer.run(work, await hourlyDimensionsFrom(this.c), async (unit) => {
      const written = unit.written
      if (!written) return
      // Before readers can see the windows: a period read must never miss a session this
      // write makes longer than the site's longest known (record.ts)…
      await this.record.beforeWrite(written.sessions, written.record ?? [])
      // …and a write to sessions readers may keep (late-writes.ts) is marked before, and
      // after, so a reader that kept them in between drops them.
      late = lateSites(written.sessions, unit.read, written.removedSessions ?? [], this.c.now())
      await markLate(this.c, late)
    })
    const written = run.written
    if (this.failWrite?.()) {
      throw new Error('FoldRollups: injected fault: the unit failed after storing its windows')
    }
    await markLate(this.c, late)
    // A history import's raw events: stored without a queue entry, these windows count them.
    if (written?.events?.length) {
      await batchWriteAll(
        this.c.doc,
        this.c.tables.events,
        importedItems(written.events, this.c.now(), this.c.eventTtlMs).map((Item) => ({
          PutRequest: { Item },
        })),
      )
    }
    if (written?.through) await this.pulled.rolledUp(written.through)
    return run.result
  }
}
