import type { FoldSession } from '../../fold/fold-state.ts'
import type { StoredWindow } from './fold-writer.ts'
import { type Item, sessionItem } from './items.ts'
import { clientPartition, STATE } from './keys.ts'
import { SETTLE_MS } from './late-writes.ts'
import { packRecordEvents } from './record.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'
import { copyKey } from './uncopied-sessions.ts'

/** Parallel conditional writes of one window's sessions. */
const FAN_OUT = 16
/** Tries at moving a site's mark when other copiers move it meanwhile. */
const MARK_ATTEMPTS = 5

/**
 * The Sessions table as a copy of the fold's windows (issue 23), made by the sweep, not by
 * the roll-up: a session that changes in ten units of five minutes is copied once, not ten
 * times (its item and its index copies, several write units each). Reads of sessions
 * (timelines, a user's sessions, the record's period reads, the packer) read the copy and
 * lay over it the windows it does not hold yet (uncopied-sessions.ts).
 *
 * A copy, so order does not matter and writing one twice changes nothing: each item carries
 * the window it is from (`fseq`), and a put or delete holds only over an older one. Two
 * copiers of a site copying windows 7 and 8 at once leave window 8's sessions, whichever
 * lands last.
 *
 * `fproj#SITE` holds the last window copied (`seq`) and the copies of the last minutes
 * (`h`: [after, through, at]): the indexes a reader queries are eventually consistent
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Reading), so
 * what a copy wrote may be missing from them for a moment. A reader lays over the copy every
 * window after the last one copied SETTLE_MS ago or more (`settledAfter`), whose sessions the
 * indexes hold by then.
 */
export class SessionProjection {
  constructor(private readonly c: StoreContext) {}

  /** The last window copied of a site (0: none). */
  async projected(siteId: string): Promise<number> {
    return Number((await this.markItem(siteId))?.seq ?? 0)
  }

  /**
   * The window after which a reader must lay the windows over the copy: the last copied,
   * less the copies too recent for the indexes to be trusted with.
   */
  async settledAfter(siteId: string): Promise<number> {
    return settledAfterOf(await this.markItem(siteId), this.c.now())
  }

  /**
   * Copies the site's windows after its mark (`after` reads them) and moves the mark.
   * Returns how many windows it copied, and how many session items it wrote or deleted.
   */
  async catchUp(
    siteId: string,
    after: (seq: number) => Promise<StoredWindow[]>,
  ): Promise<{ windows: number; sessions: number }> {
    const from = await this.projected(siteId)
    const windows = await after(from)
    if (windows.length === 0) return { windows: 0, sessions: 0 }
    const sessions = await this.copy(siteId, windows)
    await this.mark(siteId, from, Math.max(...windows.map((w) => w.seq)))
    return { windows: windows.length, sessions }
  }

  /**
   * The windows' sessions copied, each once: of a session several windows changed, only the
   * latest version is written (with its window's number), and one merged away is deleted.
   */
  private async copy(siteId: string, windows: readonly StoredWindow[]): Promise<number> {
    const latest = new Map<string, { seq: number; kept: FoldSession }>()
    const removed = new Map<string, { seq: number; id: string; client: string }>()
    for (const w of [...windows].sort((a, b) => a.seq - b.seq)) {
      for (const kept of w.fold.sessions.values()) {
        const key = copyKey(kept.session.client_session_id, kept.session.id)
        latest.set(key, { seq: w.seq, kept })
        removed.delete(key)
      }
      for (const [id, client] of w.fold.removed) {
        const key = copyKey(client, id)
        latest.delete(key)
        removed.set(key, { seq: w.seq, id, client })
      }
    }
    const TableName = this.c.tables.sessions
    const newer = 'attribute_not_exists(fseq) OR fseq < :seq'
    await inParallel([...latest.values()], FAN_OUT, async ({ seq, kept: { session, events } }) => {
      try {
        await this.c.requests.put('PutItem(session copy)', {
          TableName,
          Item: {
            ...sessionItem(
              session,
              events ? packRecordEvents(session.start_time, events) : undefined,
            ),
            fseq: seq,
          },
          ConditionExpression: newer,
          ExpressionAttributeValues: { ':seq': seq },
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    })
    await inParallel([...removed.values()], FAN_OUT, async ({ seq, id, client }) => {
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
    return latest.size + removed.size
  }

  /**
   * Moves the mark to `through` with the copy of (after, through] in its recent history,
   * never back: read, then written on the condition that no other copier wrote between.
   */
  private async mark(siteId: string, after: number, through: number): Promise<void> {
    const Key = { pk: STATE.sessionCopy(siteId), sk: STATE.one }
    for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
      const item = await this.markItem(siteId)
      const seq = Number(item?.seq ?? 0)
      const now = this.c.now()
      const recent = historyOf(item).filter(([, , at]) => now - at < 2 * SETTLE_MS)
      try {
        await this.c.requests.put('PutItem(session copy mark)', {
          TableName: this.c.tables.state,
          Item: { ...Key, seq: Math.max(seq, through), h: [...recent, [after, through, now]] },
          ConditionExpression: item ? 'seq = :seq' : 'attribute_not_exists(pk)',
          ...(item ? { ExpressionAttributeValues: { ':seq': item.seq } } : {}),
        })
        return
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    }
    throw new Error(`SessionProjection: the mark of ${siteId} kept moving under its copy`)
  }

  private markItem(siteId: string): Promise<Item | undefined> {
    return this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.sessionCopy(siteId),
      sk: STATE.one,
    })
  }
}

type Copied = [after: number, through: number, at: number]

function historyOf(item: Item | undefined): Copied[] {
  return Array.isArray(item?.h) ? (item.h as Copied[]).map(([a, t, at]) => [a, t, at]) : []
}

/** The mark less its copies made within SETTLE_MS of `now` (exported for its test). */
export function settledAfterOf(item: Item | undefined, now: number): number {
  let settled = Number(item?.seq ?? 0)
  for (const [after, , at] of historyOf(item)) {
    if (now - at < SETTLE_MS) settled = Math.min(settled, after)
  }
  return settled
}
