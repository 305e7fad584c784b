import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { batchWriteAll } from './batch-write.ts'
import type { Item } from './items.ts'
import { STATE, timeKey } from './keys.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'
import { copyKey, type Uncopied } from './uncopied-sessions.ts'

/**
 * The sessions the sweep copies, as one State-table item per site and copy (issue 23): the
 * period reads and the packer read them where they read `SiteStartIndex` before, so a copied
 * session no longer needs an index copy of its own there (a write unit a visit). Each item
 * holds the copy's sessions (as the table's items, `fseq` their window) and the sessions it
 * found merged away, brotli'd, under `fcb#SITE` / the copy's time and last window.
 *
 * A session is copied at least COPY_IDLE_MS after its last event, so a copy's time is after
 * every start it holds: a read of starts from `lo` on reads the copies made from `lo` on. A
 * session copied twice is in two items; the later window wins, as in `overlaid`. The items
 * of sessions that all start a day before the packed days end are deleted by the packer
 * (their days are packed: no read asks for them).
 */
export const COPY_BATCH = {
  pk: STATE.copyBatches,
  sk: (at: number, through: number, part: number) =>
    `${timeKey(at)}#${String(through).padStart(12, '0')}#${String(part).padStart(3, '0')}`,
}

/**
 * A batch's compressed bytes at most: an item holds 400 KB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items),
 * and a busy site's copy (thousands of visits ended in 5 minutes) is cut into several.
 */
export const BATCH_BYTES = 350_000

/** Kept a day past the packed days: a read that began before the packer moved on finds them. */
const GRACE_MS = 86_400_000

type Removed = [client: string, id: string, seq: number]

interface BatchBody {
  s: Item[]
  r: Removed[]
}

/**
 * What the copies read hold, in the shape of the windows not copied yet: each session's
 * latest version and the sessions merged away, by `copyKey`. So `overlaid` lays them over
 * what `SiteStartIndex` holds (sessions copied before copies were batched, imported ones).
 */
export interface CopiedSessions extends Uncopied {
  sessions: Map<string, Item>
  removed: Map<string, number>
}

export function encodeBatch(body: BatchBody): Buffer {
  return brotliCompressSync(JSON.stringify(body), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 9 },
  })
}

function decodeBatch(z: Uint8Array): BatchBody {
  return JSON.parse(brotliDecompressSync(z).toString('utf8')) as BatchBody
}

export class CopyBatches {
  constructor(
    private readonly c: StoreContext,
    private readonly batchBytes = BATCH_BYTES,
  ) {}

  /** Stores one copy: its sessions' items and the sessions it found merged away. */
  async write(
    siteId: string,
    through: number,
    sessions: readonly Item[],
    removed: readonly Removed[],
    /** The copy's time, its key: the time own-session-items.ts's rule was applied at. */
    now = this.c.now(),
  ): Promise<void> {
    if (sessions.length === 0 && removed.length === 0) return
    const parts = this.cut({ s: [...sessions], r: [...removed] })
    const numbered = parts.map(([body, z], part) => ({ body, z, part }))
    await inParallel(numbered, 4, ({ body, z, part }) => {
      const starts = body.s.map((s) => Number(s.start_time))
      return this.c.requests.put('PutItem(copy batch)', {
        TableName: this.c.tables.state,
        Item: {
          pk: COPY_BATCH.pk(siteId),
          sk: COPY_BATCH.sk(now, through, part),
          z,
          // With no session (removals only) it is kept until the packer passes its copy time.
          lo: starts.length ? Math.min(...starts) : now,
          hi: starts.length ? Math.max(...starts) : now,
          n: body.s.length,
        },
      })
    })
  }

  /** A copy's body as parts of at most `batchBytes` compressed, halved until they fit. */
  private cut(body: BatchBody): Array<[BatchBody, Buffer]> {
    const z = encodeBatch(body)
    if (z.byteLength <= this.batchBytes || body.s.length + body.r.length <= 1) return [[body, z]]
    const half = (list: readonly unknown[]) => Math.ceil(list.length / 2)
    return [
      ...this.cut({ s: body.s.slice(0, half(body.s)), r: body.r.slice(0, half(body.r)) }),
      ...this.cut({ s: body.s.slice(half(body.s)), r: body.r.slice(half(body.r)) }),
    ]
  }

  /**
   * The copies made from `lo` on, which hold every session starting at or after `lo`: each
   * session's latest version there, and those merged away (consistent reads). Every such copy
   * is read, not only those with a start from `lo` on: a session's later version may start
   * earlier (a merge), and must still stand over the earlier one. A caller filters by its range.
   */
  async from(siteId: string, lo: number): Promise<CopiedSessions> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk >= :lo',
      ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(siteId), ':lo': timeKey(lo) },
      ConsistentRead: true,
    })
    return latestOf(items)
  }

  /**
   * The copies made in [lo, hi] (epoch ms), consistently read: where a timeline finds a
   * session with no item of its own (own-session-items.ts).
   */
  async between(siteId: string, lo: number, hi: number): Promise<CopiedSessions> {
    if (hi < lo) return latestOf([])
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: {
        ':pk': COPY_BATCH.pk(siteId),
        ':lo': timeKey(lo),
        ':hi': `${timeKey(hi)}#\uffff`,
      },
      ConsistentRead: true,
    })
    return latestOf(items)
  }

  /** The earliest start a kept copy holds (undefined: none). */
  async firstStart(siteId: string): Promise<number | undefined> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(siteId) },
      ProjectionExpression: 'lo, n',
      ConsistentRead: true,
    })
    const starts = items.filter((i) => Number(i.n) > 0).map((i) => Number(i.lo))
    return starts.length ? Math.min(...starts) : undefined
  }

  /** Deletes the copies whose sessions all start a day or more before `packedTo`. */
  async dropPacked(siteId: string, packedTo: number): Promise<number> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'hi < :before',
      ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(siteId), ':before': packedTo - GRACE_MS },
      ProjectionExpression: 'pk, sk',
    })
    await batchWriteAll(
      this.c.doc,
      this.c.tables.state,
      items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
    )
    return items.length
  }

  /** Writes every copy that holds one of `ids` again without it (a user's data deleted). */
  async scrub(siteId: string, ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(siteId) },
      ConsistentRead: true,
    })
    for (const item of items) {
      const body = decodeBatch(item.z as Uint8Array)
      const kept = body.s.filter((s) => !ids.has(String(s.id)))
      const removed = body.r.filter(([, id]) => !ids.has(id))
      if (kept.length === body.s.length && removed.length === body.r.length) continue
      try {
        await this.c.requests.put('PutItem(copy batch)', {
          TableName: this.c.tables.state,
          Item: { ...item, z: encodeBatch({ s: kept, r: removed }), n: kept.length },
          // Deleted by the packer meanwhile: nothing left to scrub.
          ConditionExpression: 'attribute_exists(pk)',
        })
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    }
  }
}

/** Copies' items, in any order, as each session's latest version and the sessions removed. */
export function latestOf(items: readonly Item[]): CopiedSessions {
  const sessions = new Map<string, Item>()
  const removed = new Map<string, number>()
  for (const item of items) {
    const body = decodeBatch(item.z as Uint8Array)
    for (const session of body.s) {
      const key = copyKey(session.client_session_id, session.id)
      const seen = sessions.get(key)
      if (!seen || Number(session.fseq) > Number(seen.fseq)) sessions.set(key, session)
    }
    for (const [client, id, seq] of body.r) {
      const key = copyKey(client, id)
      if ((removed.get(key) ?? -1) < seq) removed.set(key, seq)
    }
  }
  for (const [key, seq] of removed) {
    const session = sessions.get(key)
    if (session && Number(session.fseq) < seq) sessions.delete(key)
  }
  return { sessions, removed }
}
