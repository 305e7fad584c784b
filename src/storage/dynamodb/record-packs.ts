import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { SESSION_FIELDS } from '../../core/session-fields.ts'
import type { RecordSession } from '../../record/session-record.ts'
import { batchWriteAll } from './batch-write.ts'
import { CopyBatches } from './copy-batches.ts'
import { call } from './faults.ts'
import { type Item, sessionItem, sessionOf } from './items.ts'
import { STATE } from './keys.ts'
import {
  indexSessionItems,
  type PackedRecordEvent,
  packRecordEvents,
  unpackEvents,
} from './record.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'
import { DAY_MS } from './retention.ts'
import { INDEX } from './tables.ts'
import { copyKey, overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * Packed days (README.md, "Packed days"): once a day of a site's sessions can no longer
 * change, the packer writes them, with their record events, as a few compressed items of the
 * State table (`pack#SITE`, `DAY#NNN`), and the record's period read takes those days from
 * them (one paged `Query` for the whole range) instead of one index item per session.
 *
 * Days are UTC days (sessions by their `start_time`), not site-local ones: a pack then never
 * depends on the site's time zone (which may change), and a site-local period reads at most
 * one UTC day more at each end, which the reader filters.
 *
 * The site's `record#SITE` item holds `packed_to` (epoch ms, a UTC midnight): every session
 * starting before it is in a pack, every later one is read from SiteStartIndex. It only moves
 * on after a day's packs are written, and a move (`move:aws`) or a re-import removes it, so
 * the reader is never sent to packs that are not complete.
 */

/**
 * How long after a day's end, and after its last session's last event, the day is packed.
 * A session changes only when one of its events is counted: the collector refuses events
 * more than 24 hours old (core/parse-event.ts, MAX_AGE_MS), the stream keeps a record 24
 * hours (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html), and
 * `npm run replay:aws` counts a set-aside record within 90 hours of its event, under the
 * fold's 96-hour replay horizon (README.md, Counting once), past which nothing of a session is
 * counted again. So 96 hours after its last event no session changes, and a day whose end
 * is 96 hours past gains no new one: 48 hours more than accept + stream alone need.
 */
export const PACK_AFTER_MS = 96 * 3_600_000

/** Compressed bytes a pack item holds at most: DynamoDB's item limit is 400 KB (keys and names count). */
export const PACK_ITEM_BYTES = 350_000

/** TransactWriteItems: at most 100 items and 4 MB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html). */
const TRANSACTION_ITEMS = 100
const TRANSACTION_BYTES = 3_800_000

/** Packed days a reader reads side by side. */
const DAYS_READ_AT_ONCE = 8

/** Days a site packs per packer run: the sweep function's 30-second timeout bounds a run. */
const DAYS_PER_RUN = 4

export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10)
}

export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`)
}

function partKey(day: string, part: number): string {
  return `${day}#${String(part).padStart(3, '0')}`
}

/**
 * A pack's text before compression: columns of the sessions' fields (SESSION_FIELDS, in that
 * order) and their events as record.ts packs them, parsed (null: a session from before the
 * record). Columns compress better than rows: a column's values look alike.
 */
interface PackBody {
  v: 1
  fields: string[]
  cols: unknown[][]
  ev: Array<PackedRecordEvent[] | null>
}

export function encodePack(items: readonly Item[]): Uint8Array {
  const body: PackBody = {
    v: 1,
    fields: [...SESSION_FIELDS],
    cols: SESSION_FIELDS.map((f) => items.map((item) => item[f] ?? null)),
    ev: items.map((item) =>
      typeof item.ev === 'string' ? (JSON.parse(item.ev) as PackedRecordEvent[]) : null,
    ),
  }
  return brotliCompressSync(JSON.stringify(body), {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 9,
      [constants.BROTLI_PARAM_LGWIN]: 24,
    },
  })
}

export function decodePack(bytes: Uint8Array): RecordSession[] {
  const body = JSON.parse(brotliDecompressSync(bytes).toString('utf8')) as PackBody
  const out: RecordSession[] = []
  for (let i = 0; i < body.ev.length; i++) {
    const row: Item = {}
    for (let f = 0; f < body.fields.length; f++) {
      row[body.fields[f] as string] = body.cols[f]?.[i] ?? null
    }
    const session = sessionOf(row)
    const ev = body.ev[i]
    out.push({ ...session, events: ev ? unpackEvents(session.start_time, ev) : null })
  }
  return out
}

/** A packed session as the item it was packed from: the fields a pack keeps and `ev`. */
function packedItem({ events, ...session }: RecordSession): Item {
  return sessionItem(session, events ? packRecordEvents(session.start_time, events) : undefined)
}

/** A day's sessions in the order a pack holds them: by start, then by id. */
function byStart(a: Item, b: Item): number {
  return (
    Number(a.start_time) - Number(b.start_time) ||
    (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0)
  )
}

/** Sessions cut into runs whose compressed packs each stay under `limit` bytes. */
export function packParts(items: readonly Item[], limit = PACK_ITEM_BYTES): Uint8Array[] {
  if (items.length === 0) return []
  const whole = encodePack(items)
  if (whole.byteLength <= limit || items.length === 1) return [whole]
  const pieces = Math.max(2, Math.ceil(whole.byteLength / (limit * 0.8)))
  const size = Math.ceil(items.length / pieces)
  const out: Uint8Array[] = []
  for (let i = 0; i < items.length; i += size) {
    out.push(...packParts(items.slice(i, i + size), limit))
  }
  return out
}

/**
 * `record#SITE`'s count of rewrites of packed days: it grows after any day already packed is
 * written again (a user's deletion, a move's packing from the first day again), so a reader
 * that keeps decoded days (packed-day-cache.ts) under the count it read them at never serves
 * one that was rewritten since.
 */
export const PACK_GENERATION = 'pack_gen'

export function packGenerationOf(site: Item | undefined): number {
  const gen = site?.[PACK_GENERATION]
  return typeof gen === 'number' ? gen : 0
}

export interface PackResult {
  /** Days written (packed first, or packed again). */
  days: number
  sessions: number
  bytes: number
  parts: number
}

/** Writing, re-writing and reading a site's packed days. */
export class RecordPacks {
  constructor(
    private readonly c: StoreContext,
    private readonly uncopied: Pick<UncopiedSessions, 'of'>,
    /** Compressed bytes per part (tests make it small to cut a day into several). */
    private readonly partBytes = PACK_ITEM_BYTES,
  ) {}

  /**
   * The packer: for each site, the days after its `packed_to` that can no longer change,
   * oldest first, at most DAYS_PER_RUN of them, until `deadline` (epoch ms by the real
   * clock). Idempotent: a day packed twice is the same items.
   */
  async packDue(
    siteIds: readonly string[],
    now: number,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<PackResult> {
    const total: PackResult = { days: 0, sessions: 0, bytes: 0, parts: 0 }
    for (const siteId of siteIds) {
      let packedTo = await this.packedTo(siteId)
      if (packedTo === undefined) {
        const first = await this.firstSessionStart(siteId)
        if (first === undefined) continue
        const start = dayStart(utcDay(first))
        if (!(await this.movePackedTo(siteId, undefined, start))) continue
        packedTo = start
      }
      for (let n = 0; n < DAYS_PER_RUN && Date.now() < deadline; n++) {
        const end: number = packedTo + DAY_MS
        if (end + PACK_AFTER_MS > now) break
        const items = await this.daySessions(siteId, packedTo)
        // A session of the day still being extended (a tab open for days): the day waits.
        if (items.some((item) => Number(item.end_time) + PACK_AFTER_MS > now)) break
        const written = await this.writeDay(siteId, utcDay(packedTo), items)
        total.days++
        total.sessions += items.length
        total.bytes += written.bytes
        total.parts += written.parts
        // Conditional: a move that reset the site meanwhile wins (its days are packed again).
        if (!(await this.movePackedTo(siteId, packedTo, end))) break
        packedTo = end
        // The copies no read asks for now that their days are packed (copy-batches.ts).
        await new CopyBatches(this.c).dropPacked(siteId, packedTo)
      }
    }
    return total
  }

  /**
   * Writes the day again, less `without` (session ids just deleted, which the index may still
   * show for a moment): a user's deletion. From the day's pack laid over with what the copies
   * and windows still hold of it: a day's copy batches are deleted a day after it is packed
   * (copy-batches.ts), and from then on its anonymous sessions are in its pack alone.
   */
  async repackDays(siteId: string, days: Iterable<string>, without: ReadonlySet<string>) {
    const packedTo = await this.packedTo(siteId)
    if (packedTo === undefined) return
    for (const day of days) {
      if (dayStart(day) >= packedTo) continue
      const [parts, later] = await Promise.all([
        this.readDayParts(siteId, [day]),
        this.daySessions(siteId, dayStart(day)),
      ])
      const byKey = new Map<string, Item>()
      for (const session of (parts.get(day) ?? []).flatMap((z) => decodePack(z))) {
        byKey.set(copyKey(session.client_session_id, session.id), packedItem(session))
      }
      // What the copies and windows hold is the same version or a later one.
      for (const item of later) byKey.set(copyKey(item.client_session_id, item.id), item)
      const items = [...byKey.values()]
        .filter((item) => !without.has(String(item.id)))
        .sort(byStart)
      await this.writeDay(siteId, day, items)
    }
  }

  /**
   * The packed sessions starting in [lo, hi] (epoch ms): one paged `Query` of the site's
   * packs from lo's day to hi's. Of each day, the parts its part 0 counts (`of`).
   */
  async readPacked(siteId: string, lo: number, hi: number): Promise<RecordSession[]> {
    if (hi < lo) return []
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: {
        ':pk': STATE.packs(siteId),
        ':lo': `${utcDay(lo)}#`,
        ':hi': `${utcDay(hi)}#~`,
      },
    })
    const parts = new Map<string, number>()
    for (const item of items) {
      const [day, part] = String(item.sk).split('#')
      if (part === '000') parts.set(day as string, Number(item.of))
    }
    const out: RecordSession[] = []
    for (const item of items) {
      const [day, part] = String(item.sk).split('#')
      if (Number(part) >= (parts.get(day as string) ?? 0)) continue
      for (const s of decodePack(item.z as Uint8Array)) {
        if (s.start_time >= lo && s.start_time <= hi) out.push(s)
      }
    }
    return out
  }

  /**
   * The compressed parts that count of each of `days` (UTC days), read with `ConsistentRead`:
   * a day read after `record#SITE` said it is packed, at a generation, is that generation's
   * day or a later one, never an earlier one a replica still holds. A paged `Query` per day,
   * several side by side (a busy site's day is a few 350 KB parts: pages of one day's read
   * follow each other, days need not). A day without items packed no session.
   */
  async readDayParts(siteId: string, days: readonly string[]): Promise<Map<string, Uint8Array[]>> {
    const read = await inParallel(days, DAYS_READ_AT_ONCE, async (day) => {
      const items = await this.c.requests.queryAll({
        TableName: this.c.tables.state,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
        ExpressionAttributeValues: { ':pk': STATE.packs(siteId), ':day': `${day}#` },
        ConsistentRead: true,
      })
      // Part 000 says how many parts count (a longer earlier packing may have left more).
      const counted = Number(items.find((item) => String(item.sk).endsWith('#000'))?.of ?? 0)
      return items
        .filter((item) => Number(String(item.sk).split('#')[1]) < counted)
        .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1))
        .map((item) => item.z as Uint8Array)
    })
    return new Map(days.map((day, i) => [day, read[i] as Uint8Array[]]))
  }

  async packedTo(siteId: string): Promise<number | undefined> {
    const site = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.record(siteId),
      sk: STATE.one,
    })
    return typeof site?.packed_to === 'number' ? site.packed_to : undefined
  }

  /**
   * The day's sessions, whole items, from the copies (copy batches and SiteStartIndex,
   * record.ts), laid over with the windows not copied yet (uncopied-sessions.ts; read after
   * the copies, as record.ts says).
   */
  private daySessions(siteId: string, start: number): Promise<Item[]> {
    const end = start + DAY_MS - 1
    return indexSessionItems(this.c, siteId, start, end, Number.MIN_SAFE_INTEGER)
      .then(async (items) =>
        overlaid(items, await this.uncopied.of(siteId), (item) => {
          const at = Number(item.start_time)
          return at >= start && at <= end
        }),
      )
      .then((items) => items.sort(byStart))
  }

  /**
   * The day's parts, replacing what was there: in one transaction when they fit (a reader
   * sees the old day or the new one), else part by part with part 0 (which says how many
   * parts count) last, then the left-over parts of an earlier, longer packing deleted. A day
   * packed for the first time is written part by part too: no reader reads a day before
   * `packed_to` passes it.
   */
  private async writeDay(siteId: string, day: string, items: readonly Item[]) {
    const pk = STATE.packs(siteId)
    const TableName = this.c.tables.state
    const parts = packParts(items, this.partBytes)
    const before = await this.c.requests.queryAll({
      TableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :day)',
      ExpressionAttributeValues: { ':pk': pk, ':day': `${day}#` },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    })
    const puts = parts.map((z, i) => ({
      pk,
      sk: partKey(day, i),
      of: parts.length,
      sessions: items.length,
      z,
    }))
    const stale = before
      .map((item) => String(item.sk))
      .filter((sk) => Number(sk.split('#')[1]) >= parts.length)
    const bytes = parts.reduce((sum, z) => sum + z.byteLength, 0)
    // A day packed for the first time has no reader yet (`packed_to` moves after it is
    // written): plain puts, half a transaction's write units, part 0 last all the same.
    const first = before.length === 0
    if (!first && puts.length + stale.length <= TRANSACTION_ITEMS && bytes <= TRANSACTION_BYTES) {
      if (puts.length + stale.length > 0) {
        await call('TransactWriteItems(pack)', () =>
          this.c.doc.send(
            new TransactWriteCommand({
              TransactItems: [
                ...puts.map((Item) => ({ Put: { TableName, Item } })),
                ...stale.map((sk) => ({ Delete: { TableName, Key: { pk, sk } } })),
              ],
            }),
          ),
        )
      }
    } else {
      for (const Item of [...puts.slice(1), ...puts.slice(0, 1)]) {
        await this.c.requests.put('PutItem(pack)', { TableName, Item })
      }
      await batchWriteAll(
        this.c.doc,
        TableName,
        stale.map((sk) => ({ DeleteRequest: { Key: { pk, sk } } })),
      )
    }
    // Written over a packed day: readers that keep decoded days read them again.
    if (before.length > 0) await this.bumpGeneration(siteId)
    return { bytes, parts: parts.length }
  }

  private async bumpGeneration(siteId: string) {
    await this.c.requests.update('UpdateItem(record)', {
      TableName: this.c.tables.state,
      Key: { pk: STATE.record(siteId), sk: STATE.one },
      UpdateExpression: 'ADD #g :one',
      ExpressionAttributeNames: { '#g': PACK_GENERATION },
      ExpressionAttributeValues: { ':one': 1 },
    })
  }

  /** The earliest start of the site's copied sessions: in SiteStartIndex or a copy batch. */
  private async firstSessionStart(siteId: string): Promise<number | undefined> {
    const [page, batched] = await Promise.all([
      this.c.requests.query('Query(SiteStartIndex)', {
        TableName: this.c.tables.sessions,
        IndexName: INDEX.sessionsBySiteStart,
        KeyConditionExpression: 'site_id = :s',
        ExpressionAttributeValues: { ':s': siteId },
        ProjectionExpression: 'start_time',
        Limit: 1,
      }),
      new CopyBatches(this.c).firstStart(siteId),
    ])
    const first = page.Items?.[0]?.start_time
    const starts = [typeof first === 'number' ? first : undefined, batched].filter(
      (at): at is number => at !== undefined,
    )
    return starts.length ? Math.min(...starts) : undefined
  }

  /** `packed_to` from `from` (undefined: not set) to `to`; false when another writer moved it. */
  private async movePackedTo(siteId: string, from: number | undefined, to: number) {
    try {
      await this.c.doc.send(
        new UpdateCommand({
          TableName: this.c.tables.state,
          Key: { pk: STATE.record(siteId), sk: STATE.one },
          // Packing from the first day again (after a move): days kept decoded are stale,
          // even those that held no session before (their packs had no item to write over).
          UpdateExpression:
            from === undefined ? 'SET packed_to = :to ADD #g :one' : 'SET packed_to = :to',
          ConditionExpression:
            from === undefined ? 'attribute_not_exists(packed_to)' : 'packed_to = :from',
          ...(from === undefined ? { ExpressionAttributeNames: { '#g': PACK_GENERATION } } : {}),
          ExpressionAttributeValues: {
            ':to': to,
            ...(from === undefined ? { ':one': 1 } : { ':from': from }),
          },
        }),
      )
      return true
    } catch (error) {
      if (isConditionFailure(error)) return false
      throw error
    }
  }
}
