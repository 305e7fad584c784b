import type { SessionState } from '../../core/types.ts'
import type { RollupQueue, RollupUnit } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import type { FoldSegments } from './fold-segments.ts'
import type { FoldWriter, StoredWindow } from './fold-writer.ts'
import { hourlyDimensionsFrom } from './forgotten-events.ts'
import { lateSites, markLate } from './late-writes.ts'
import type { PulledStream } from './pulled-stream.ts'
import type { RecordWriter } from './record.ts'
import { importedItems } from './request-items.ts'
import type { StoreContext } from './requests.ts'
import type { SessionProjection } from './session-projection.ts'

/**
 * The roll-up's side over the fold (issue 23, README.md "Counting once"): a unit runs over
 * the fold's memory and is stored as each site's next window (fold-writer.ts), then its
 * sessions are copied into the Sessions table (session-projection.ts) for the reads that
 * take them from there. Where the pending items come from is not its business: a Lambda
 * batch, or the local poller's backlog (PulledStream).
 */
export class FoldRollups implements Pick<RollupQueue, 'rollup'> {
  /** Serialises this process's units (as the stream serialises a shard's batches). */
  private queue: Promise<unknown> = Promise.resolve()
  /** Per site, the last window this process knows was copied into the Sessions table. */
  private readonly copiedTo = new Map<string, number>()

  constructor(
    private readonly c: StoreContext,
    private readonly writer: FoldWriter,
    private readonly segments: FoldSegments,
    private readonly copy: SessionProjection,
    private readonly pulled: PulledStream,
    private readonly record: RecordWriter,
    /** Test hook: true fails the next unit after its windows are stored, half-way through their copy. */
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
    const run = await this.writer.run(work, await hourlyDimensionsFrom(this.c))
    // Windows this process learnt of without copying them (another writer's, its own whose
    // copy failed, or all of them in a new process) are copied first, from the site's mark.
    for (const siteId of run.sites) {
      const own = run.windows.filter((w) => w.siteId === siteId).map((w) => w.seq)
      const before = own.length ? Math.min(...own) - 1 : (this.writer.lastWindow(siteId) ?? 0)
      if ((this.copiedTo.get(siteId) ?? -1) < before) {
        const waiting = async (after: number) =>
          (await this.windowsAfter(siteId, after)).filter((w) => w.seq <= before)
        // Copies finished late, maybe long after their windows: a late write to every site
        // they touch (late-writes.ts), so no reader keeps a slice they change.
        if (await this.copy.repair(siteId, waiting, () => markLate(this.c, [siteId]))) {
          await markLate(this.c, [siteId])
        }
        this.copiedTo.set(siteId, before)
      }
    }
    const written = run.written
    const sessions: SessionState[] = run.windows.flatMap((w) =>
      [...w.fold.sessions.values()].map((k) => k.session),
    )
    // Before the copy: a period read must never miss a session this write makes longer
    // than the site's longest known (record.ts).
    if (written) await this.record.beforeWrite(sessions, written.record ?? [])
    // A write to sessions readers may keep (late-writes.ts): marked before, and after, so a
    // reader that kept them in between drops them.
    const removed = run.windows.flatMap((w) => [...w.fold.removed.keys()])
    const late = lateSites(sessions, run.read, removed, this.c.now())
    await markLate(this.c, late)
    if (this.failWrite?.()) {
      await this.copy.project(run.windows.slice(0, Math.floor(run.windows.length / 2)))
      throw new Error('FoldRollups: injected fault: the copy of a unit failed half-way')
    }
    await this.copy.project(run.windows)
    for (const w of run.windows) {
      this.copiedTo.set(w.siteId, Math.max(this.copiedTo.get(w.siteId) ?? 0, w.seq))
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

  private async windowsAfter(siteId: string, after: number): Promise<StoredWindow[]> {
    return (await this.segments.after(siteId, after)).map((s) => ({
      siteId,
      seq: s.seq,
      fold: s.fold,
    }))
  }
}
