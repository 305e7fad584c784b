import type { FoldSession } from '../../fold/fold-state.ts'
import { CopyBatches } from './copy-batches.ts'
import type { StoredWindow } from './fold-writer.ts'
import { type Item, unindexedItem } from './items.ts'
import { clientPartition, STATE } from './keys.ts'
import { SETTLE_MS } from './late-writes.ts'
import { needsOwnItem } from './own-session-items.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'
import { copyItem, copyKey, latestVersions } from './uncopied-sessions.ts'

/** Parallel conditional writes of one copy's sessions. */
const FAN_OUT = 16
/** Tries at a copy when other copiers move the site's mark meanwhile. */
const COPY_ATTEMPTS = 5
/**
 * A session is copied once it has had no event for this long: a visit is then copied once,
 * after it ends, not at every sweep while it goes on. One that an event joins later (a late
 * event, a long pause) is copied again.
 */
export const COPY_IDLE_MS = 5 * 60_000

/**
 * The Sessions table as a copy of the fold's windows (issue 23), made by the sweep, not by
 * the roll-up: a session that changes in ten units is copied once, not ten times (its item and
 * its index copies, a write unit each). Reads of sessions (timelines, a user's sessions, the
 * record's period reads, the packer) read the copy and lay over it the windows it does not
 * hold yet (uncopied-sessions.ts).
 *
 * A copy, so order does not matter and writing one twice changes nothing: each item carries
 * the window it is from (`fseq`), and a put or delete holds only over an older one.
 *
 * `fproj#SITE` holds the last window the copy has read (`seq`), the sessions of the windows
 * up to it still waiting for COPY_IDLE_MS without an event (`p`: tracker session, id, the
 * window of their latest version), the copies of the last minutes (`h`: [after, through,
 * at]) and a version (`ver`) each write is conditional on. The indexes a reader queries are
 * eventually consistent
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Reading), so
 * a copy is trusted only SETTLE_MS after it was made: a reader lays over the copy every window
 * after the last one copied that long ago, and every window from the oldest waiting
 * session's (`settledAfter`).
 */
export class SessionProjection {
  private readonly batches: CopyBatches

  constructor(private readonly c: StoreContext) {
    this.batches = new CopyBatches(c)
  }

  /** The window after which a reader must lay the windows over the copy. */
  async settledAfter(siteId: string): Promise<number> {
    return settledAfterOf(await this.markItem(siteId), this.c.now())
  }

  /**
   * Copies the sessions of the site's windows after its mark (`after` reads them) that have
   * been idle COPY_IDLE_MS, and those waiting that are now, and moves the mark. Returns how
   * many windows it read past the mark, and how many session items it wrote or deleted.
   */
  async catchUp(
    siteId: string,
    after: (seq: number) => Promise<StoredWindow[]>,
  ): Promise<{ windows: number; sessions: number }> {
    for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
      const item = await this.markItem(siteId)
      const seq = Number(item?.seq ?? 0)
      const waiting = waitingOf(item)
      // From the oldest waiting session's window on: its latest version is there or later.
      const from = Math.min(seq, ...waiting.map(([, , s]) => s - 1))
      const windows = (await after(from)).sort((a, b) => a.seq - b.seq)
      const fresh = windows.filter((w) => w.seq > seq)
      if (fresh.length === 0 && waiting.length === 0) return { windows: 0, sessions: 0 }
      const { copy, remove, wait } = this.due(windows, seq, waiting)
      const through = Math.max(seq, ...fresh.map((w) => w.seq))
      await this.write(siteId, through, copy, remove)
      if (await this.mark(siteId, item, from, through, wait)) {
        return { windows: fresh.length, sessions: copy.length + remove.length }
      }
    }
    throw new Error(`SessionProjection: the mark of ${siteId} kept moving under its copy`)
  }

  /**
   * Of the sessions waiting and those of the windows past the mark, their latest versions:
   * those idle long enough to copy, those merged away to delete, and the rest to wait.
   */
  private due(windows: readonly StoredWindow[], seq: number, waiting: readonly Waiting[]) {
    const { sessions: latest, removed } = latestVersions(windows)
    const candidates = new Set(waiting.map(([client, id]) => copyKey(client, id)))
    for (const w of windows) {
      if (w.seq <= seq) continue
      for (const { session } of w.fold.sessions.values()) {
        candidates.add(copyKey(session.client_session_id, session.id))
      }
      for (const [id, client] of w.fold.removed) candidates.add(copyKey(client, id))
    }
    const idleSince = this.c.now() - COPY_IDLE_MS
    const copy: Array<{ seq: number; kept: FoldSession }> = []
    const remove: Array<{ seq: number; id: string; client: string }> = []
    const wait: Waiting[] = []
    for (const key of candidates) {
      const gone = removed.get(key)
      const version = latest.get(key)
      if (gone) remove.push(gone)
      else if (!version)
        continue // its windows expired: nothing left to copy
      else if (version.kept.session.end_time <= idleSince) copy.push(version)
      else wait.push([version.kept.session.client_session_id, version.kept.session.id, version.seq])
    }
    return { copy, remove, wait }
  }

  /**
   * The copy: one item of all its sessions for the period reads, the packer and the timelines
   * (copy-batches.ts), then the own items of the sessions that need one (own-session-items.ts:
   * identified users' sessions, ids of other shapes, late or long visits), without the
   * attribute `SiteStartIndex` keys on (`unindexedItem`).
   */
  private async write(
    siteId: string,
    through: number,
    copy: ReadonlyArray<{ seq: number; kept: FoldSession }>,
    remove: ReadonlyArray<{ seq: number; id: string; client: string }>,
  ): Promise<void> {
    const now = this.c.now()
    const items = copy.map(({ seq, kept }) => ({ seq, kept, item: copyItem(kept, seq) }))
    await this.batches.write(
      siteId,
      through,
      items.map(({ item }) => item),
      remove.map(({ seq, id, client }) => [client, id, seq]),
      now,
    )
    const TableName = this.c.tables.sessions
    const newer = 'attribute_not_exists(fseq) OR fseq < :seq'
    const own = items.filter(({ kept }) => needsOwnItem(kept.session, now))
    await inParallel(own, FAN_OUT, async ({ seq, item }) => {
      try {
        await this.c.requests.put('PutItem(session copy)', {
          TableName,
          Item: unindexedItem(item),
          ConditionExpression: newer,
          ExpressionAttributeValues: { ':seq': seq },
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    })
    await inParallel(remove, FAN_OUT, async ({ seq, id, client }) => {
      try {
        await this.c.requests.delete('DeleteItem(session copy)', {
          TableName,
          Key: { pk: clientPartition(siteId, client), sk: id },
          ConditionExpression: newer,
          ExpressionAttributeValues: { ':seq': seq },
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    })
  }

  /**
   * Moves the mark to `through`, with the sessions still waiting and this copy of the windows
   * after `from` in its recent history; false when another copier wrote the mark since it was
   * read (the copy is then made again from the new mark: copies change nothing twice).
   */
  private async mark(
    siteId: string,
    read: Item | undefined,
    from: number,
    through: number,
    wait: readonly Waiting[],
  ): Promise<boolean> {
    const now = this.c.now()
    const recent = historyOf(read).filter(([, , at]) => now - at < 2 * SETTLE_MS)
    const version = Number(read?.ver ?? 0)
    try {
      await this.c.requests.put('PutItem(session copy mark)', {
        TableName: this.c.tables.state,
        Item: {
          pk: STATE.sessionCopy(siteId),
          sk: STATE.one,
          seq: through,
          p: wait,
          h: [...recent, [from, through, now]],
          ver: version + 1,
        },
        ConditionExpression: read
          ? 'ver = :ver OR attribute_not_exists(ver)'
          : 'attribute_not_exists(pk)',
        ...(read ? { ExpressionAttributeValues: { ':ver': read.ver ?? 0 } } : {}),
      })
      return true
    } catch (error) {
      if (isConditionFailure(error)) return false
      throw error
    }
  }

  private markItem(siteId: string): Promise<Item | undefined> {
    return this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.sessionCopy(siteId),
      sk: STATE.one,
    })
  }
}

type Copied = [after: number, through: number, at: number]
type Waiting = [client: string, id: string, seq: number]

function historyOf(item: Item | undefined): Copied[] {
  return Array.isArray(item?.h) ? (item.h as Copied[]).map(([a, t, at]) => [a, t, at]) : []
}

function waitingOf(item: Item | undefined): Waiting[] {
  return Array.isArray(item?.p)
    ? (item.p as Waiting[]).map(([client, id, seq]) => [String(client), String(id), Number(seq)])
    : []
}

/**
 * The mark less its copies made within SETTLE_MS of `now`, and less the windows of the
 * sessions still waiting (exported for its test).
 */
export function settledAfterOf(item: Item | undefined, now: number): number {
  let settled = Number(item?.seq ?? 0)
  for (const [after, , at] of historyOf(item)) {
    if (now - at < SETTLE_MS) settled = Math.min(settled, after)
  }
  for (const [, , seq] of waitingOf(item)) settled = Math.min(settled, seq - 1)
  return settled
}
