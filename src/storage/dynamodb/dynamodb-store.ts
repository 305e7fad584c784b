import { randomBytes, randomUUID } from 'node:crypto'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { hourBucket } from '../../core/calendar.ts'
import { DeltaAccumulator, zeroCounters } from '../../core/rollup-deltas.ts'
import { comparePositions } from '../../core/stream-position.ts'
import {
  type BotHit,
  COUNTER_NAMES,
  type EnrichedEvent,
  type RollupDelta,
  type SessionState,
  type Site,
  type VisitorMark,
} from '../../core/types.ts'
import {
  type Accepted,
  checkTopValuesQuery,
  type EventRecord,
  type LiveEvent,
  type RollupEntry,
  type RollupRange,
  type RollupRow,
  type RollupUnit,
  type SessionLookup,
  type Store,
  type StreamPosition,
  type SweepPolicy,
  type SweepResult,
  type TopValuesQuery,
  type UserSessionsQuery,
} from '../store.ts'
import { batchWriteAll, chunk } from './batch-write.ts'
import { EventsStream } from './events-stream.ts'
import { type Backoff, call, DEFAULT_BACKOFF, storageFault, untilAllProcessed } from './faults.ts'
import {
  botItem,
  eventItem,
  eventRecordOf,
  type Item,
  liveEventOf,
  queuedItemOf,
  sessionItem,
  sessionOf,
  siteOf,
  ttlSeconds,
} from './items.ts'
import {
  bucketKey,
  clientPartition,
  KEY_VALUE_BYTES,
  positionOf,
  STATE,
  statsPartition,
  statsSortKey,
  timeKey,
  userKey,
} from './keys.ts'
import { INDEX, type TableNames } from './tables.ts'
import { UnitWriter, type WriteOp } from './unit-writer.ts'

export interface DynamoDbStoreOptions {
  ddb: DynamoDBClient
  doc: DynamoDBDocumentClient
  streams: DynamoDBStreamsClient
  tables: TableNames
  /** How long raw events are kept (their TTL); 24 hours by default. */
  eventTtlMs?: number
  /** The clock accepts record their time by (oldestPendingAcceptedAt). */
  now?: () => number
  /** Items per roll-up transaction (tests make it small so units apply in several chunks). */
  maxTransactItems?: number
  /** Test hook: true fails the next roll-up write part-way (UnitWriter). */
  failRollupWrite?: () => boolean
  /** How batch leftovers are retried (faults.ts); tests shorten it. */
  backoff?: Backoff
  /**
   * Whether this process reads the Events stream itself (the local poller's shape: tests,
   * `npm run dev:aws`); true by default. On Lambda the event source mapping reads it and keeps
   * its own place, so `backlog` and the lag would count the stream's whole day on every stats
   * request: there they answer 0 and null, and the roll-up's lag is its IteratorAge metric
   * (alarm and dashboard in infra/terraform/monitoring.tf).
   */
  readsStream?: boolean
}

const DAY_MS = 86_400_000
/** Visitor marks and salts outlive their day by this much (late events, far time zones). */
const MARK_KEEP_DAYS = 2
/** Hourly dimension rows serve the rolling "24h" view; day rows keep the history. */
const HOURLY_DIMENSION_KEEP_HOURS = 72
/** Roll-up checkpoints outlive the stream's 24-hour retention: no record older is redelivered. */
const CHECKPOINT_KEEP_MS = 3 * DAY_MS
/** Parallel requests of one fan-out (session lookups, mark claims). */
const FAN_OUT = 16

function utcDay(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(0, 10)
}

async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await run(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
}

/** Why each item of a cancelled transaction failed, in the transaction's order. */
function cancellationCodes(error: unknown): Array<string | undefined> | undefined {
  if ((error as { name?: string } | null)?.name !== 'TransactionCanceledException') return
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons
  return reasons?.map((r) => (r.Code === 'None' ? undefined : r.Code))
}

/**
 * The AWS shape's store: four DynamoDB tables (tables.ts), the Events table's stream as the
 * roll-up's queue. Keys and the argument for counting once: README.md in this folder.
 *
 * TTL deadlines are set on the real clock (Date.now), never later than it, whatever clock
 * the store is given: DynamoDB deletes by the real one, so a deadline from a clock set back
 * (a test's, an import's) would have items deleted at once, while they are still needed.
 */
export class DynamoDbStore implements Store {
  readonly kind = 'dynamodb' as const
  private readonly doc: DynamoDBDocumentClient
  private readonly t: TableNames
  private readonly eventTtlMs: number
  private readonly now: () => number
  private readonly writer: UnitWriter
  private readonly stream: EventsStream
  private readonly backoff: Backoff
  private readonly readsStream: boolean
  /** Serialises this process's roll-up units (as the stream serialises a shard's batches). */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(options: DynamoDbStoreOptions) {
    this.doc = options.doc
    this.t = options.tables
    this.eventTtlMs = options.eventTtlMs ?? DAY_MS
    this.now = options.now ?? Date.now
    this.backoff = options.backoff ?? DEFAULT_BACKOFF
    this.readsStream = options.readsStream ?? true
    this.writer = new UnitWriter(options.doc, {
      stateTable: options.tables.state,
      ...(options.maxTransactItems ? { maxTransactItems: options.maxTransactItems } : {}),
      ...(options.failRollupWrite ? { failWrite: options.failRollupWrite } : {}),
    })
    this.stream = new EventsStream(options.ddb, options.streams, options.tables.events)
  }

  /** The Events stream, for the local poller that plays the event source mapping. */
  get eventsStream(): EventsStream {
    return this.stream
  }

  // ---- accept -------------------------------------------------------------------------

  /**
   * One transaction per 100 items: every new event with the condition that its key is not
   * stored yet, every bot hit. A transaction cancelled by those conditions names the
   * duplicates; it is sent again without them. So an accept of up to 100 items (one
   * collector request) is stored whole or not at all, and a fault leaves nothing behind.
   */
  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const acceptedAt = this.now()
    const context = { acceptedAt, eventTtlMs: this.eventTtlMs }
    const fresh = new Array<boolean>(events.length).fill(false)
    const seen = new Set<string>()
    const ops: Array<{ index: number; op: WriteOp }> = []
    events.forEach((event, index) => {
      const item = eventItem(event, context)
      const id = `${item.pk}\u0000${item.sk}`
      // The same event twice in one accept: the second is a duplicate.
      if (seen.has(id)) return
      seen.add(id)
      ops.push({
        index,
        op: {
          Put: {
            TableName: this.t.events,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      })
    })
    for (const hit of bots) {
      const item = botItem(hit, context, randomUUID())
      ops.push({ index: -1, op: { Put: { TableName: this.t.events, Item: item } } })
    }
    for (const part of chunk(ops, 100)) {
      let left = part
      while (left.length > 0) {
        try {
          await this.doc.send(new TransactWriteCommand({ TransactItems: left.map((o) => o.op) }))
          for (const o of left) if (o.index >= 0) fresh[o.index] = true
          left = []
        } catch (error) {
          const codes = cancellationCodes(error)
          if (!codes?.some((code) => code === 'ConditionalCheckFailed')) {
            throw storageFault('TransactWriteItems(accept)', error)
          }
          left = left.filter((_, i) => codes[i] !== 'ConditionalCheckFailed')
        }
      }
    }
    return { fresh }
  }

  // ---- the pulled source: the stream read from outside Lambda -------------------------

  /**
   * Items of the Events stream after the local poller's checkpoint of their shard, oldest
   * first, from the first shard that has any: a unit counts one stream. Only INSERTs of
   * collected items count (TTL and sweep deletions reach the stream too; imported history
   * is counted already).
   */
  async pending(limit: number): Promise<RollupEntry[]> {
    for (const shard of await this.stream.shards()) {
      const entries = await this.pendingOf(shard, limit)
      if (entries.length > 0) return entries
    }
    return []
  }

  private async pendingOf(shard: string, limit: number): Promise<RollupEntry[]> {
    const entries: RollupEntry[] = []
    for await (const { entry } of this.pendingRecords(shard)) {
      entries.push(entry)
      if (entries.length >= limit) break
    }
    return entries
  }

  /** A shard's records after the poller's checkpoint that wait to be counted, oldest first. */
  private async *pendingRecords(
    shard: string,
  ): AsyncGenerator<{ entry: RollupEntry; acceptedAt: number; at: number }> {
    const delivered = await this.deliveredThrough(shard)
    const through = delivered?.position
    const dead = await this.deadPositions(shard)
    for await (const records of this.stream.records(shard, delivered?.sequenceNumber)) {
      for (const record of records) {
        const image = record.dynamodb?.NewImage
        const sequence = record.dynamodb?.SequenceNumber
        if (record.eventName !== 'INSERT' || !image || !sequence) continue
        const position = positionOf(sequence)
        if (through !== undefined && comparePositions(position, through) <= 0) continue
        if (dead.has(position)) continue
        const item = unmarshall(image) as Item
        if (item.imported) continue
        yield {
          entry: { stream: shard, position, item: queuedItemOf(item) },
          acceptedAt: Number(item.accepted_at),
          at: Number(item.timestamp),
        }
      }
    }
  }

  /** Every pending record with when it was accepted and when it happened, across shards. */
  private async allPending(): Promise<Array<{ acceptedAt: number; at: number }>> {
    const out: Array<{ acceptedAt: number; at: number }> = []
    if (!this.readsStream) return out
    for (const shard of await this.stream.shards()) {
      for await (const { acceptedAt, at } of this.pendingRecords(shard))
        out.push({ acceptedAt, at })
    }
    return out
  }

  /**
   * How far the local poller delivered a shard: its checkpoint, with the sequence number as
   * the stream wrote it when the poller recorded one (a read can then start right after it).
   */
  async deliveredThrough(
    shard: string,
  ): Promise<{ position: string; sequenceNumber?: string } | undefined> {
    const item = await this.getItem(this.t.state, { pk: STATE.checkpoint(shard), sk: STATE.one })
    if (!item) return undefined
    return {
      position: String(item.through),
      ...(typeof item.sequence === 'string' ? { sequenceNumber: item.sequence } : {}),
    }
  }

  /** The local poller delivered a shard through this record (what the event source mapping keeps). */
  async recordDelivered(shard: string, sequenceNumber: string): Promise<void> {
    await call('PutItem(checkpoint)', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.t.state,
          Item: {
            pk: STATE.checkpoint(shard),
            sk: STATE.one,
            through: positionOf(sequenceNumber),
            sequence: sequenceNumber,
            expires_at: ttlSeconds(Date.now() + CHECKPOINT_KEEP_MS),
          },
        }),
      ),
    )
  }

  async backlog(): Promise<number> {
    return (await this.allPending()).length
  }

  async oldestPendingAcceptedAt(): Promise<number | null> {
    // A loop, not Math.min(...all): a backlog of a few hundred thousand would overflow the stack.
    let oldest: number | null = null
    for (const { acceptedAt } of await this.allPending()) {
      if (oldest === null || acceptedAt < oldest) oldest = acceptedAt
    }
    return oldest
  }

  async deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void> {
    await call('PutItem(dead letter)', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.t.state,
          Item: {
            pk: STATE.deadLetters(entry.stream),
            sk: entry.position,
            reason,
            failed_at: at,
            ...('item' in entry ? { payload: JSON.stringify((entry as RollupEntry).item) } : {}),
          },
        }),
      ),
    )
  }

  private async deadPositions(stream: string): Promise<Set<string>> {
    const items = await this.queryAll({
      TableName: this.t.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': STATE.deadLetters(stream) },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    })
    return new Set(items.map((item) => String(item.sk)))
  }

  // ---- the roll-up --------------------------------------------------------------------

  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runUnit(work))
    this.queue = run.catch(() => undefined)
    return run
  }

  private async runUnit<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    // A plan a failed write left open is finished before this unit reads anything.
    await this.writer.finishOpenPlans()
    const hourlyDimensionsFrom = await this.hourlyDimensionsFrom()
    /** Marks this unit claimed (true) or found taken (false), by key. */
    const marks = new Map<string, boolean>()
    /** Keys of the sessions this unit read: a removed session is deleted by its key. */
    const read = new Map<string, Item>()
    const unit: RollupUnit = {
      hourlyDimensionsFrom,
      appliedThrough: (streams) => this.checkpoints(streams),
      sessionsFor: (lookups) => this.sessionsFor(lookups, read),
      claimMarks: (wanted) => this.claimMarks(wanted, marks),
      write: (changes) => this.writer.write(this.unitOps(changes, read)),
    }
    return work(unit)
  }

  private async hourlyDimensionsFrom(): Promise<number> {
    const found = await call('GetItem(sweep)', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.t.state,
          Key: { pk: STATE.sweepPk, sk: STATE.one },
          ConsistentRead: true,
        }),
      ),
    )
    const from = found.Item?.hourly_from
    return typeof from === 'number' ? from : Number.NEGATIVE_INFINITY
  }

  /** Each stream's recorded position: one consistent BatchGetItem per 100 streams. */
  private async checkpoints(streams: readonly string[]): Promise<Map<string, string>> {
    const streamOf = new Map([...new Set(streams)].map((s) => [STATE.checkpoint(s), s]))
    const keys = [...streamOf.keys()].map((pk) => ({ pk, sk: STATE.one }))
    const applied = new Map<string, string>()
    for (const item of await this.batchGet(this.t.state, keys)) {
      applied.set(streamOf.get(String(item.pk)) as string, String(item.through))
    }
    return applied
  }

  /** A client's stored sessions: one consistent Query of its partition each. */
  private async sessionsFor(
    lookups: readonly SessionLookup[],
    read: Map<string, Item>,
  ): Promise<SessionState[]> {
    const found = await inParallel(lookups, FAN_OUT, async (l) => {
      const sessions = await this.clientSessions(l.site_id, l.client_session_id, true)
      for (const s of sessions) {
        read.set(s.id, { pk: clientPartition(s.site_id, s.client_session_id), sk: s.id })
      }
      return sessions.filter((s) => s.start_time <= l.to && s.end_time >= l.from)
    })
    return found.flat().sort((a, b) => a.start_time - b.start_time)
  }

  private async clientSessions(
    siteId: string,
    clientSessionId: string,
    consistent: boolean,
  ): Promise<SessionState[]> {
    if (unstorable(siteId, clientSessionId)) return []
    const items = await this.queryAll({
      TableName: this.t.sessions,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': clientPartition(siteId, clientSessionId) },
      ConsistentRead: consistent,
    })
    return items.map(sessionOf)
  }

  /**
   * Claims marks with a conditional write each, tagged with the moment of the event that
   * claims it: two shards counting the same visitor at once cannot both count them (one
   * write wins), and a unit redone after a failure recognises its own claims (same event,
   * same moment) instead of finding them taken. Marks already known (read first, in one
   * consistent BatchGetItem per 100) cost no write.
   */
  private async claimMarks(
    wanted: readonly VisitorMark[],
    known: Map<string, boolean>,
  ): Promise<boolean[]> {
    const keyOf = (m: VisitorMark) => STATE.mark(m.site_id, m.day, m.scope, m.visitor_id)
    const claimerOf = (m: VisitorMark) => {
      const at = (m as VisitorMark & { timestamp?: unknown }).timestamp
      return typeof at === 'number' ? `t${at}` : `u${randomBytes(8).toString('hex')}`
    }
    const firstOf = new Map<string, VisitorMark>()
    for (const m of wanted) {
      const key = keyOf(m)
      if (!known.has(key) && !firstOf.has(key)) firstOf.set(key, m)
    }
    const toClaim = [...firstOf]
    if (toClaim.length > 0) {
      const stored = new Map<string, string>()
      const items = await this.batchGet(
        this.t.state,
        toClaim.map(([pk]) => ({ pk, sk: STATE.one })),
      )
      for (const item of items) stored.set(String(item.pk), String(item.claimer))
      const claims = toClaim.filter(([pk, m]) => {
        const claimer = stored.get(pk)
        if (claimer === undefined) return true
        known.set(pk, claimer === claimerOf(m))
        return false
      })
      await inParallel(claims, FAN_OUT, async ([pk, m]) => {
        const claimer = claimerOf(m)
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.t.state,
              Item: {
                pk,
                sk: STATE.one,
                claimer,
                expires_at: ttlSeconds(
                  Math.max(Date.parse(m.day), Date.now()) + (MARK_KEEP_DAYS + 1) * DAY_MS,
                ),
              },
              ConditionExpression: 'attribute_not_exists(pk) OR claimer = :c',
              ExpressionAttributeValues: { ':c': claimer },
            }),
          )
          known.set(pk, true)
        } catch (error) {
          if (!isConditionFailure(error)) throw storageFault('PutItem(mark)', error)
          known.set(pk, false)
        }
      })
    }
    // The first occurrence of a key in this unit takes the claim; any later one, in this call
    // or a later one of the unit, finds it taken.
    return wanted.map((m) => {
      const key = keyOf(m)
      const claimed = known.get(key) ?? false
      known.set(key, false)
      return claimed
    })
  }

  /** Every write of a unit, in the order it is applied (counters' versions and checkpoints last). */
  private unitOps(changes: Parameters<RollupUnit['write']>[0], read: Map<string, Item>): WriteOp[] {
    const ops: WriteOp[] = []
    for (const session of changes.sessions) {
      ops.push({ Put: { TableName: this.t.sessions, Item: sessionItem(session) } })
    }
    for (const id of changes.removedSessions ?? []) {
      const key = read.get(id)
      if (!key) throw new Error(`DynamoDbStore: session ${id} was removed without being read`)
      ops.push({ Delete: { TableName: this.t.sessions, Key: key } })
    }
    const sites = new Set<string>()
    // A transaction may name an item once: deltas of one row (a caller may send several)
    // are added up first, as the roll-up's own accumulator adds them.
    const merged = new DeltaAccumulator()
    for (const { key, counters } of changes.deltas) merged.add(key, counters)
    for (const delta of merged.deltas()) {
      const op = this.counterOp(delta)
      if (!op) continue
      ops.push(op)
      sites.add(delta.key.site_id)
    }
    for (const event of changes.events ?? []) {
      ops.push({
        Put: {
          TableName: this.t.events,
          Item: eventItem(event, {
            acceptedAt: this.now(),
            eventTtlMs: this.eventTtlMs,
            imported: true,
          }),
        },
      })
    }
    for (const site of sites) ops.push({ Update: this.versionBump(site) })
    const keepUntil = ttlSeconds(Date.now() + CHECKPOINT_KEEP_MS)
    for (const { stream, position } of changes.through ?? []) {
      ops.push({
        Put: {
          TableName: this.t.state,
          Item: {
            pk: STATE.checkpoint(stream),
            sk: STATE.one,
            through: position,
            expires_at: keepUntil,
          },
        },
      })
    }
    return ops
  }

  private counterOp(delta: RollupDelta): WriteOp | undefined {
    const names: Record<string, string> = {}
    const values: Record<string, unknown> = {}
    const adds: string[] = []
    COUNTER_NAMES.forEach((name, i) => {
      const n = delta.counters[name]
      if (n === 0) return
      names[`#c${i}`] = name
      values[`:c${i}`] = n
      adds.push(`#c${i} :c${i}`)
    })
    if (adds.length === 0) return undefined
    const { grain, site_id, bucket, dim, value } = delta.key
    const sets = ['#b = :b', '#v = :v']
    names['#b'] = 'b'
    names['#v'] = 'v'
    values[':b'] = bucket
    values[':v'] = value
    // Hourly dimension rows serve the last days only: DynamoDB's TTL removes them for free.
    if (grain === 'hour' && dim !== '') {
      sets.push('expires_at = :e')
      values[':e'] = hourlyRowExpiry(bucket)
    }
    return {
      Update: {
        TableName: this.t.stats,
        Key: { pk: statsPartition(site_id, grain, dim), sk: statsSortKey(bucket, value) },
        UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    }
  }

  // ---- sites, salts, settings ---------------------------------------------------------

  async createSite(site: Site): Promise<void> {
    await call('TransactWriteItems(site)', () =>
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.t.state,
                Item: { pk: STATE.sitesPk, sk: site.id, ...site },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.t.state,
                // The site itself beside its key: the collector finds it in one read.
                Item: { pk: STATE.apiKey(site.api_key), sk: STATE.one, ...site },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      ),
    )
  }

  async getSite(id: string): Promise<Site | undefined> {
    if (unstorable(id)) return undefined
    const item = await this.getItem(this.t.state, { pk: STATE.sitesPk, sk: id })
    return item ? siteOf(item) : undefined
  }

  async getSiteByApiKey(apiKey: string): Promise<Site | undefined> {
    if (unstorable(apiKey)) return undefined
    const item = await this.getItem(this.t.state, { pk: STATE.apiKey(apiKey), sk: STATE.one })
    return item ? siteOf(item) : undefined
  }

  async listSites(): Promise<Site[]> {
    const items = await this.queryAll({
      TableName: this.t.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': STATE.sitesPk },
      ConsistentRead: true,
    })
    return items
      .map(siteOf)
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  async setSiteApiKey(id: string, apiKey: string): Promise<void> {
    const site = await this.getSite(id)
    if (!site) return
    await call('TransactWriteItems(rotate key)', () =>
      this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.t.state,
                Key: { pk: STATE.sitesPk, sk: id },
                UpdateExpression: 'SET api_key = :new',
                ConditionExpression: 'api_key = :old',
                ExpressionAttributeValues: { ':new': apiKey, ':old': site.api_key },
              },
            },
            {
              Delete: {
                TableName: this.t.state,
                Key: { pk: STATE.apiKey(site.api_key), sk: STATE.one },
              },
            },
            {
              Put: {
                TableName: this.t.state,
                Item: { pk: STATE.apiKey(apiKey), sk: STATE.one, ...site, api_key: apiKey },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      ),
    )
  }

  async dailySalt(day: string): Promise<string> {
    const Key = { pk: STATE.saltsPk, sk: day }
    const stored = await this.getItem(this.t.state, Key)
    if (stored) return String(stored.salt)
    try {
      const salt = randomBytes(32).toString('base64url')
      await this.doc.send(
        new PutCommand({
          TableName: this.t.state,
          Item: { ...Key, salt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      return salt
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(salt)', error)
      // Another process made it first: theirs is the day's salt.
      return String((await this.getItem(this.t.state, Key))?.salt)
    }
  }

  async getSetting(name: string): Promise<string | undefined> {
    const item = await this.getItem(this.t.state, { pk: STATE.setting(name), sk: STATE.one })
    return item ? String(item.value) : undefined
  }

  async initSetting(name: string, value: string): Promise<string> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.t.state,
          Item: { pk: STATE.setting(name), sk: STATE.one, value },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      return value
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(setting)', error)
      return (await this.getSetting(name)) as string
    }
  }

  async putSetting(name: string, value: string): Promise<void> {
    await call('PutItem(setting)', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.t.state,
          Item: { pk: STATE.setting(name), sk: STATE.one, value },
        }),
      ),
    )
  }

  // ---- sessions and events ------------------------------------------------------------

  async getSession(id: string): Promise<SessionState | undefined> {
    if (unstorable(id)) return undefined
    const found = await call('Query(IdIndex)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.t.sessions,
          IndexName: INDEX.sessionId,
          KeyConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': id },
        }),
      ),
    )
    const item = found.Items?.[0]
    return item ? sessionOf(item) : undefined
  }

  async findSession(
    site_id: string,
    client_session_id: string,
    at: number,
  ): Promise<SessionState | undefined> {
    const sessions = await this.clientSessions(site_id, client_session_id, false)
    const distance = (s: SessionState) =>
      s.start_time <= at && s.end_time >= at
        ? -1
        : Math.min(Math.abs(s.start_time - at), Math.abs(s.end_time - at))
    return sessions.sort((a, b) => distance(a) - distance(b) || a.start_time - b.start_time)[0]
  }

  async sessionEvents(sessionId: string): Promise<EventRecord[]> {
    const session = await this.getSession(sessionId)
    if (!session) return []
    const items = await this.queryAll({
      TableName: this.t.events,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      // Expired events may linger until DynamoDB deletes them: the TTL is the truth.
      FilterExpression: '#ttl > :now',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':pk': clientPartition(session.site_id, session.client_session_id),
        ':from': timeKey(session.start_time),
        ':to': `${timeKey(session.end_time)}#\uffff`,
        ':now': ttlSeconds(this.now()),
      },
    })
    return items.map(eventRecordOf)
  }

  async userSessions(query: UserSessionsQuery): Promise<SessionState[]> {
    if (unstorable(query.site_id, query.user_id)) return []
    const found = await call('Query(UserIndex)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.t.sessions,
          IndexName: INDEX.sessionsByUser,
          KeyConditionExpression: 'user_key = :u AND start_time < :before',
          ExpressionAttributeValues: {
            ':u': userKey(query.site_id, query.user_id),
            ':before': query.before ?? Number.MAX_SAFE_INTEGER,
          },
          ScanIndexForward: false,
          Limit: query.limit,
        }),
      ),
    )
    return (found.Items ?? []).map(sessionOf)
  }

  async liveEventsSince(siteId: string, since: number, limit: number): Promise<LiveEvent[]> {
    const out: LiveEvent[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await call('Query(SiteTimeIndex)', () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.t.events,
            IndexName: INDEX.siteTime,
            KeyConditionExpression: 'site_id = :site AND sk >= :since',
            FilterExpression: '#ttl > :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':site': siteId,
              ':since': timeKey(since),
              ':now': ttlSeconds(this.now()),
            },
            ScanIndexForward: false,
            Limit: limit - out.length,
            ExclusiveStartKey,
          }),
        ),
      )
      for (const item of page.Items ?? []) out.push(liveEventOf(item))
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey && out.length < limit)
    return out.slice(0, limit).reverse()
  }

  // ---- counters -----------------------------------------------------------------------

  async countersVersion(siteId: string): Promise<number> {
    const item = await this.getItem(this.t.state, { pk: STATE.version(siteId), sk: STATE.one })
    return typeof item?.version === 'number' ? item.version : 0
  }

  /** One Query of the dimension's partition over the range (paged by 1 MB). */
  async readRollups(range: RollupRange): Promise<RollupRow[]> {
    const values: Record<string, unknown> = {
      ':pk': statsPartition(range.site_id, range.grain, range.dim),
      ':from': `${bucketKey(range.from)}#`,
      ':to': `${bucketKey(range.to)}#\uffff`,
    }
    const filters: string[] = []
    if (range.value !== undefined) {
      filters.push('#v = :value')
      values[':value'] = range.value
    }
    const rows = await this.queryAll({
      TableName: this.t.stats,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ExpressionAttributeNames: range.value !== undefined ? { '#v': 'v' } : undefined,
      ExpressionAttributeValues: values,
    })
    // No TTL filter: an hourly dimension row past its TTL is one the sweep would have
    // removed, and no reader asks for hours that old (the roll-up stops writing them).
    const out = rows.map((item) => rowOf(item, range.site_id, range.dim))
    // The key orders rows by bucket, then value as UTF-8 bytes (as SQLite does), except a
    // value too long for a key, whose key ends in a hash (keyValue): then sort them again.
    if (!out.some((row) => Buffer.byteLength(row.value) > KEY_VALUE_BYTES)) return out
    return out.sort(
      (a, b) =>
        (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) ||
        Buffer.compare(Buffer.from(a.value), Buffer.from(b.value)),
    )
  }

  async topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    checkTopValuesQuery(query, 'DynamoDbStore.topValues')
    const rows = await this.readRollups(query)
    const sums = new Map<string, RollupRow>()
    for (const { site_id: _, ...row } of rows as Array<RollupRow & { site_id?: string }>) {
      const sum = sums.get(row.value)
      if (!sum) {
        sums.set(row.value, { ...row, bucket: '' })
        continue
      }
      for (const name of COUNTER_NAMES) sum[name] += row[name]
    }
    const wanted = query.counters ?? COUNTER_NAMES
    const out = [...sums.values()].filter((row) => {
      for (const name of COUNTER_NAMES) if (!wanted.includes(name)) row[name] = 0
      // Values whose counters net to zero (an exit page the visitor moved on from) are left out.
      return wanted.reduce((sum, name) => sum + row[name], 0) > 0
    })
    const by = query.orderBy
    return out
      .sort((a, b) => b[by] - a[by] || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, query.limit)
  }

  // ---- bulk loads, sweep, health ------------------------------------------------------

  /** Nothing to do: DynamoDB keeps its indexes up itself, at the same cost either way. */
  async beginBulkLoad(): Promise<void> {}
  async endBulkLoad(): Promise<void> {}

  async sweep(policy: SweepPolicy): Promise<SweepResult> {
    const keepDaysFrom = utcDay(policy.now - MARK_KEEP_DAYS * DAY_MS)
    const hourCutoff = hourBucket(policy.now) - HOURLY_DIMENSION_KEEP_HOURS
    await call('UpdateItem(sweep)', () =>
      this.doc
        .send(
          new UpdateCommand({
            TableName: this.t.state,
            Key: { pk: STATE.sweepPk, sk: STATE.one },
            UpdateExpression: 'SET hourly_from = :h',
            ConditionExpression: 'attribute_not_exists(hourly_from) OR hourly_from < :h',
            ExpressionAttributeValues: { ':h': hourCutoff },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error
        }),
    )
    // An event still waiting on the stream is kept until it is rolled up (where this process
    // reads the stream; on Lambda the record's own new image is what the roll-up reads).
    const pending = await this.allPending()
    const oldestQueued = pending.reduce((min, e) => Math.min(min, e.at), Number.POSITIVE_INFINITY)
    const cutoff = Math.min(policy.now - policy.eventTtlMs, oldestQueued)
    let events = 0
    for (const site of await this.listSites()) {
      const expired = await this.queryAll({
        TableName: this.t.events,
        IndexName: INDEX.siteTime,
        KeyConditionExpression: 'site_id = :site AND sk < :cutoff',
        ExpressionAttributeValues: { ':site': site.id, ':cutoff': timeKey(cutoff) },
        ProjectionExpression: 'pk, sk',
      })
      await this.batchDelete(
        this.t.events,
        expired.map((item) => ({ pk: item.pk, sk: item.sk })),
      )
      events += expired.length
    }
    // Salts go on schedule, not by TTL (which may lag by days): the privacy promise.
    const salts = await this.queryAll({
      TableName: this.t.state,
      KeyConditionExpression: 'pk = :pk AND sk < :from',
      ExpressionAttributeValues: { ':pk': STATE.saltsPk, ':from': keepDaysFrom },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    })
    await this.batchDelete(
      this.t.state,
      salts.map((item) => ({ pk: item.pk, sk: item.sk })),
    )
    // Marks and hourly dimension rows expire by TTL (free); their readers never need them
    // after that, as the collector refuses events older than a day.
    return { events, marks: 0, hourly_dimension_rows: 0, salts: salts.length }
  }

  async health(): Promise<void> {
    await this.getItem(this.t.state, { pk: STATE.sweepPk, sk: STATE.one })
  }

  async close(): Promise<void> {
    await this.queue
  }

  // ---- request helpers ----------------------------------------------------------------

  private async getItem(TableName: string, Key: Item): Promise<Item | undefined> {
    const found = await call(`GetItem(${TableName})`, () =>
      this.doc.send(new GetCommand({ TableName, Key, ConsistentRead: true })),
    )
    return found.Item
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const out: Item[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await call(`Query(${input.TableName})`, () =>
        this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey })),
      )
      for (const item of page.Items ?? []) out.push(item)
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return out
  }

  /** Consistent BatchGetItem, 100 keys a request, leftovers retried with backoff. */
  private async batchGet(TableName: string, keys: readonly Item[]): Promise<Item[]> {
    const out: Item[] = []
    for (const part of chunk(keys, 100)) {
      await untilAllProcessed(
        `BatchGetItem(${TableName})`,
        part,
        async (Keys) => {
          const got = await this.doc.send(
            new BatchGetCommand({ RequestItems: { [TableName]: { Keys, ConsistentRead: true } } }),
          )
          for (const item of got.Responses?.[TableName] ?? []) out.push(item)
          const left = got.UnprocessedKeys?.[TableName]?.Keys
          return left && left.length > 0 ? (left as Item[]) : undefined
        },
        this.backoff,
      )
    }
    return out
  }

  private async batchDelete(TableName: string, keys: readonly Item[]): Promise<void> {
    await batchWriteAll(
      this.doc,
      TableName,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
      this.backoff,
    )
  }

  // ---- moving in from the embedded shape (src/entry/move-to-dynamodb.ts) ---------------

  /**
   * Stores counter rows as they are (Put, not ADD): moving the same rows twice leaves them
   * as once. For a site that has no counters of its own here yet.
   */
  async putCounterRows(siteId: string, grain: 'hour' | 'day', rows: readonly RollupRow[]) {
    const requests = rows.map((row) => {
      const item: Item = {
        pk: statsPartition(siteId, grain, row.dim),
        sk: statsSortKey(row.bucket, row.value),
        b: row.bucket,
        v: row.value,
      }
      for (const name of COUNTER_NAMES) if (row[name] !== 0) item[name] = row[name]
      if (grain === 'hour' && row.dim !== '') item.expires_at = hourlyRowExpiry(row.bucket)
      return { PutRequest: { Item: item } }
    })
    await batchWriteAll(this.doc, this.t.stats, requests, this.backoff)
  }

  async putSessions(sessions: readonly SessionState[]): Promise<void> {
    const requests = sessions.map((s) => ({ PutRequest: { Item: sessionItem(s) } }))
    await batchWriteAll(this.doc, this.t.sessions, requests, this.backoff)
  }

  /** Raw events for timelines and the live view, marked imported: the stream's roll-up skips them. */
  async putImportedEvents(events: readonly EnrichedEvent[]): Promise<void> {
    const context = { acceptedAt: this.now(), eventTtlMs: this.eventTtlMs, imported: true }
    const requests = events.map((e) => ({ PutRequest: { Item: eventItem(e, context) } }))
    await batchWriteAll(this.doc, this.t.events, requests, this.backoff)
  }

  /** A day's salt as another store drew it, so visitor ids of that day stay the same. */
  async putSalt(day: string, salt: string): Promise<void> {
    await call('PutItem(salt)', () =>
      this.doc.send(
        new PutCommand({ TableName: this.t.state, Item: { pk: STATE.saltsPk, sk: day, salt } }),
      ),
    )
  }

  /** Marks the site's counters changed, so no cached answer from before the move is served. */
  async bumpCountersVersion(siteId: string): Promise<void> {
    await call('UpdateItem(version)', () =>
      this.doc.send(new UpdateCommand(this.versionBump(siteId))),
    )
  }

  /** The write that tells caches a site's counters changed (Store.countersVersion). */
  private versionBump(siteId: string) {
    return {
      TableName: this.t.state,
      Key: { pk: STATE.version(siteId), sk: STATE.one },
      UpdateExpression: 'ADD version :one',
      ExpressionAttributeValues: { ':one': 1 },
    }
  }
}

/**
 * An id longer than any this store writes into a key (ids are at most 128 characters,
 * long values are shortened by keyValue): nothing is stored under it, and DynamoDB would
 * refuse the key as too large (a ValidationException, which would answer 500).
 */
function unstorable(...parts: string[]): boolean {
  return parts.some((part) => Buffer.byteLength(part) > 1000)
}

/** When DynamoDB may delete an hourly dimension row: its hour plus the days they serve. */
function hourlyRowExpiry(bucket: number | string): number {
  const bucketEnd = (Number(bucket) + 1) * 3_600_000
  return ttlSeconds(Math.max(bucketEnd, Date.now()) + HOURLY_DIMENSION_KEEP_HOURS * 3_600_000)
}

/** A counter row as the SQLite store's reads return it (its site included). */
function rowOf(item: Item, siteId: string, dim: string): RollupRow {
  const row: RollupRow & { site_id: string } = {
    site_id: siteId,
    bucket: item.b as number | string,
    dim,
    value: String(item.v ?? ''),
    ...zeroCounters(),
  }
  for (const name of COUNTER_NAMES) row[name] = Number(item[name] ?? 0)
  return row
}
