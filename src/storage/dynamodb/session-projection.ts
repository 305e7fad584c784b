import type { StoredWindow } from './fold-writer.ts'
import { sessionItem } from './items.ts'
import { clientPartition, STATE } from './keys.ts'
import { packRecordEvents } from './record.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'

/** Parallel conditional writes of one window's sessions. */
const FAN_OUT = 16

/**
 * The Sessions table as a copy of the fold's windows (issue 23): every read of sessions
 * (timelines, a user's sessions, the record's period read through `SiteStartIndex`, the
 * packer) keeps reading session items, which the fold writes after each window it stores.
 *
 * A copy, so order does not matter and writing one twice changes nothing: each item carries
 * the window it is from (`fseq`), and a put or delete holds only over an older one. Two
 * writers of a site copying windows 7 and 8 at once leave window 8's sessions, whichever
 * lands last. `fproj#SITE` holds the last window copied; a process that learns of windows it
 * did not copy itself (another writer's, or its own whose copy failed) copies the windows
 * after it, so a copy a failure cut short is finished (fold-rollups.ts).
 */
export class SessionProjection {
  constructor(private readonly c: StoreContext) {}

  /** The last window copied of a site (0: none). */
  async projected(siteId: string): Promise<number> {
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.sessionCopy(siteId),
      sk: STATE.one,
    })
    return Number(item?.seq ?? 0)
  }

  /** Copies windows (of any sites, any order), then moves each site's mark on. */
  async project(windows: readonly StoredWindow[]): Promise<void> {
    for (const w of windows) await this.copy(w)
    const last = new Map<string, number>()
    for (const w of windows) last.set(w.siteId, Math.max(last.get(w.siteId) ?? 0, w.seq))
    for (const [siteId, seq] of last) await this.mark(siteId, seq)
  }

  /**
   * Copies the site's windows after its mark (`after` reads them), calling `before` first
   * when there are any. Returns whether there were.
   */
  async repair(
    siteId: string,
    after: (seq: number) => Promise<StoredWindow[]>,
    before: () => Promise<void>,
  ): Promise<boolean> {
    const windows = await after(await this.projected(siteId))
    if (windows.length === 0) return false
    await before()
    await this.project(windows)
    return true
  }

  private async copy(w: StoredWindow): Promise<void> {
    const TableName = this.c.tables.sessions
    const newer = 'attribute_not_exists(fseq) OR fseq < :seq'
    const puts = [...w.fold.sessions.values()].map(({ session, events }) => ({
      ...sessionItem(session, events ? packRecordEvents(session.start_time, events) : undefined),
      fseq: w.seq,
    }))
    await inParallel(puts, FAN_OUT, async (Item) => {
      try {
        await this.c.requests.put('PutItem(session copy)', {
          TableName,
          Item,
          ConditionExpression: newer,
          ExpressionAttributeValues: { ':seq': w.seq },
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    })
    await inParallel([...w.fold.removed], FAN_OUT, async ([id, client]) => {
      try {
        await this.c.requests.delete('DeleteItem(session copy)', {
          TableName,
          Key: { pk: clientPartition(w.siteId, client), sk: id },
          ConditionExpression: newer,
          ExpressionAttributeValues: { ':seq': w.seq },
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    })
  }

  private async mark(siteId: string, seq: number): Promise<void> {
    try {
      await this.c.requests.update('UpdateItem(session copy mark)', {
        TableName: this.c.tables.state,
        Key: { pk: STATE.sessionCopy(siteId), sk: STATE.one },
        UpdateExpression: 'SET seq = :seq',
        ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
        ExpressionAttributeValues: { ':seq': seq },
      })
    } catch (error) {
      if (!isConditionFailure(error)) throw error
    }
  }
}
