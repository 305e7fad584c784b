import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { SESSION_FIELDS } from '../../core/session-fields.ts'
import type { SessionState } from '../../core/types.ts'
import type { FoldSession } from '../../fold/fold-state.ts'
import { SiteFold } from '../../fold/site-fold.ts'
import { type DeltaRow, deltaOfRow, deltaRow } from './delta-rows.ts'
import { type Item, ttlSeconds } from './items.ts'
import { STATE } from './keys.ts'
import { type PackedRecordEvent, packRecordEvents, unpackEvents } from './record.ts'
import { isConditionFailure, type StoreContext } from './requests.ts'

/**
 * A site's folded windows on DynamoDB (issue 23): one State-table item per window, numbered
 * in the order the site's one writer stored them (`fold#SITE` / 12-digit number), each the
 * window's SiteFold compressed. They are the fold's log: readers sum their counter deltas,
 * and a new fold process replays the recent ones to rebuild its memory.
 *
 * **The number is the fence.** A window is stored with `attribute_not_exists`, under the
 * number after the last one its writer knew. Two writers of one site (a batch delivered
 * again while the first run still goes, a container whose memory is behind) cannot both
 * store a window under one number: the second is refused, forgets what it held of the site
 * and rebuilds from the stored windows, where it finds the first writer's counted keys, so
 * it counts only what is left. A conditional put is atomic on its item
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html),
 * and a strongly consistent read returns every write that succeeded before it
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html),
 * so a rebuild sees every window stored before it began.
 */

/** How long a stored window is kept: past every replay horizon, and past its day's packing. */
export const SEGMENT_KEEP_MS = 8 * 24 * 3_600_000

export interface StoredSegment {
  seq: number
  /**
   * When it was stored (ms, the writer's clock). A window holds only what happened before it
   * was stored, and windows are stored one after another, so a rebuild reads back by it.
   */
  storedAt: number
  /** Its TTL (epoch seconds). */
  expiresAt: number
  fold: SiteFold
}

interface SegmentBody {
  /** 2: sessions as arrays (SessionRow); absent: as objects, as the first windows wrote them. */
  v?: 2
  tz?: string
  d: DeltaRow[]
  s: Array<[SessionRow | SessionState, PackedRecordEvent[] | null]>
  /** Sessions merged away: [id, tracker session id]. */
  r: Array<[string, string]>
  /**
   * Counted identities and their times, flat: hash, at, hash, at, … In version 2 the first
   * number is a base time and each `at` is its offset from it (a few digits, not thirteen).
   */
  c: number[]
  m: Array<[string, number[]]>
}

/**
 * A session as a window stores it: its fields' values in SESSION_FIELDS order, without their
 * names. A window holds a handful of sessions, compressed alone, so the names were a good
 * part of its bytes, and a window past 1 KB bills a second write unit. SESSION_FIELDS only
 * grows at its end (session-fields.ts): a row stored before a field was added lacks it, and
 * reads it as "", as items.ts reads a later field of an older item.
 */
type SessionRow = unknown[]

function sessionRow(session: SessionState): SessionRow {
  return SESSION_FIELDS.map((field) => session[field])
}

function sessionOfRow(row: SessionRow): SessionState {
  const session: Record<string, unknown> = {}
  SESSION_FIELDS.forEach((field, i) => {
    session[field] = i < row.length ? row[i] : ''
  })
  return session as unknown as SessionState
}

function countedFlat(counted: ReadonlyArray<[hash: number, at: number]>): number[] {
  const base = counted.reduce((min, [, at]) => Math.min(min, at), counted[0]?.[1] ?? 0)
  const out = [base]
  for (const [hash, at] of counted) out.push(hash, at - base)
  return out
}

/**
 * Windows up to this much JSON are compressed at brotli's best (a few milliseconds at most):
 * at a million events a month most windows are a little over 1 KB compressed, and a write
 * unit is billed per started KB, so the last tenth is worth the time. Larger windows (a busy
 * site's batches) take the fast setting: their time grows with them, their units barely move.
 */
const SMALL_WINDOW = 16 * 1024
/** brotli's fast setting, and its best. */
const FAST = 5
const BEST = 11
/**
 * Windows up to this much JSON are compressed at the fast setting first (a tenth of a
 * millisecond or so), and kept so when that already fits the item in one write unit: the best
 * setting (2.5 ms for the window of a one-request batch) could not bill fewer, only save bytes.
 * Past this the fast setting does not come under 1 KB (about 3:1 on windows).
 */
const FAST_FIRST = 4 * 1024
/** DynamoDB bills a write unit per started KB of the item. */
const WRITE_UNIT_BYTES = 1024
/** The most a number attribute takes in an item's size. */
const NUMBER_BYTES = 21

/**
 * A window item's bytes besides its compressed body, at most: each attribute's name and
 * value (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
function itemBytesBesidesBody(siteId: string): number {
  const names = 'pk'.length + 'sk'.length + 'z'.length + 'at'.length + 'expires_at'.length
  return names + Buffer.byteLength(SEGMENT.pk(siteId)) + SEGMENT.sk(0).length + 2 * NUMBER_BYTES
}

export const SEGMENT = {
  pk: STATE.foldWindows,
  sk: (seq: number) => String(seq).padStart(12, '0'),
}

export function encodeSegment(fold: SiteFold): Buffer {
  const marks = new Map<string, number[]>()
  for (const [day, hash] of fold.marks) {
    const list = marks.get(day)
    if (list) list.push(hash)
    else marks.set(day, [hash])
  }
  const body: SegmentBody = {
    v: 2,
    ...(fold.timezone ? { tz: fold.timezone } : {}),
    d: fold.deltas.deltas().map(deltaRow),
    s: [...fold.sessions.values()].map(({ session, events }) => [
      sessionRow(session),
      events
        ? (JSON.parse(packRecordEvents(session.start_time, events)) as PackedRecordEvent[])
        : null,
    ]),
    r: [...fold.removed],
    c: countedFlat(fold.counted),
    m: [...marks],
  }
  const json = JSON.stringify(body)
  if (json.length > SMALL_WINDOW) return compress(json, FAST)
  if (json.length <= FAST_FIRST) {
    const fast = compress(json, FAST)
    if (fast.length + itemBytesBesidesBody(fold.siteId) <= WRITE_UNIT_BYTES) return fast
  }
  return compress(json, BEST)
}

function compress(json: string, quality: number): Buffer {
  return brotliCompressSync(json, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      [constants.BROTLI_PARAM_SIZE_HINT]: json.length,
    },
  })
}

export function decodeSegment(siteId: string, bytes: Uint8Array): SiteFold {
  const body = JSON.parse(brotliDecompressSync(bytes).toString('utf8')) as SegmentBody
  const fold = new SiteFold(siteId)
  if (body.tz) fold.timezone = body.tz
  for (const row of body.d) {
    const { key, counters } = deltaOfRow(siteId, row)
    fold.deltas.add(key, counters)
  }
  for (const [stored, packed] of body.s) {
    const session = body.v === 2 ? sessionOfRow(stored as SessionRow) : (stored as SessionState)
    const kept: FoldSession = {
      session,
      events: packed ? unpackEvents(session.start_time, packed) : null,
    }
    fold.putSession(kept)
  }
  for (const [id, client] of body.r) fold.removeSession(id, client)
  const base = body.v === 2 ? (body.c[0] ?? 0) : 0
  for (let i = body.v === 2 ? 1 : 0; i + 1 < body.c.length; i += 2) {
    fold.counted.push([body.c[i] as number, base + (body.c[i + 1] as number)])
  }
  for (const [day, hashes] of body.m) for (const hash of hashes) fold.marks.push([day, hash])
  return fold
}

export class FoldSegments {
  constructor(private readonly c: StoreContext) {}

  /**
   * Stores a site's window under `seq`; false when that number is taken (another writer
   * stored a window first: the caller's memory of the site is behind).
   */
  async append(siteId: string, seq: number, fold: SiteFold): Promise<boolean> {
    const z = encodeSegment(fold)
    const storedAt = this.c.now()
    try {
      await this.c.requests.put('PutItem(fold segment)', {
        TableName: this.c.tables.state,
        Item: {
          pk: SEGMENT.pk(siteId),
          sk: SEGMENT.sk(seq),
          z,
          at: storedAt,
          // On the real clock, whatever clock the store is given (dynamodb-store.ts says why).
          expires_at: ttlSeconds(Date.now() + SEGMENT_KEEP_MS),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      })
      return true
    } catch (error) {
      if (isConditionFailure(error)) return false
      throw error
    }
  }

  /**
   * Takes sessions out of every kept window of a site that holds one (a person's data
   * deleted: user-erasure.ts). Only the copies go: the window's counter deltas, counted keys
   * and mark hashes stay (sums and hashes say nothing of who), so summaries and rebuilds
   * read the same counts. Returns how many windows it wrote again.
   */
  async scrub(siteId: string, ids: ReadonlySet<string>): Promise<number> {
    if (ids.size === 0) return 0
    const { segments } = await this.since(siteId, this.c.now() - SEGMENT_KEEP_MS)
    let rewritten = 0
    for (const segment of segments) {
      const held = [...segment.fold.sessions.keys()].filter((id) => ids.has(id))
      if (held.length === 0) continue
      for (const id of held) segment.fold.sessions.delete(id)
      try {
        await this.c.requests.put('PutItem(fold segment, scrubbed)', {
          TableName: this.c.tables.state,
          Item: {
            pk: SEGMENT.pk(siteId),
            sk: SEGMENT.sk(segment.seq),
            z: encodeSegment(segment.fold),
            at: segment.storedAt,
            // Kept no longer than it was to be.
            expires_at: segment.expiresAt,
          },
          // A window DynamoDB's TTL removed meanwhile stays removed.
          ConditionExpression: 'attribute_exists(pk)',
        })
        rewritten += 1
      } catch (error) {
        if (!isConditionFailure(error)) throw error
      }
    }
    return rewritten
  }

  /** The number of the site's last stored window (0: none yet). */
  async last(siteId: string): Promise<number> {
    const page = await this.c.requests.query('Query(fold segments, last)', {
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': SEGMENT.pk(siteId) },
      ProjectionExpression: 'sk',
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    })
    const sk = page.Items?.[0]?.sk
    return typeof sk === 'string' ? Number(sk) : 0
  }

  /** The site's windows after `seq`, in order (consistent). */
  async after(siteId: string, seq: number): Promise<StoredSegment[]> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk > :after',
      ExpressionAttributeValues: { ':pk': SEGMENT.pk(siteId), ':after': SEGMENT.sk(seq) },
      ConsistentRead: true,
    })
    return items.map((item) => segmentOf(siteId, item))
  }

  /**
   * The site's windows stored at `from` or later, in order, and the number of the last
   * stored (0: none): what a rebuild replays. Read from the newest back, a page at a time,
   * until a window stored before `from`.
   */
  async since(siteId: string, from: number): Promise<{ last: number; segments: StoredSegment[] }> {
    const out: StoredSegment[] = []
    let last = 0
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.c.requests.query('Query(fold segments, since)', {
        TableName: this.c.tables.state,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': SEGMENT.pk(siteId) },
        ScanIndexForward: false,
        ConsistentRead: true,
        ExclusiveStartKey,
      })
      for (const item of page.Items ?? []) {
        const segment = segmentOf(siteId, item)
        if (last === 0) last = segment.seq
        if (segment.storedAt < from) return { last, segments: out.reverse() }
        out.push(segment)
      }
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return { last, segments: out.reverse() }
  }
}

function segmentOf(siteId: string, item: Item): StoredSegment {
  return {
    seq: Number(item.sk),
    storedAt: Number(item.at),
    expiresAt: Number(item.expires_at),
    fold: decodeSegment(siteId, item.z as Uint8Array),
  }
}
