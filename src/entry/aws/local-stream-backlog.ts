import { unmarshall } from '@aws-sdk/util-dynamodb'
import { comparePositions } from '../../core/stream-position.ts'
import type { DynamoClients } from '../../storage/dynamodb/clients.ts'
import { ttlSeconds } from '../../storage/dynamodb/items.ts'
import { lastPositionOf, STATE } from '../../storage/dynamodb/keys.ts'
import type { PulledStream } from '../../storage/dynamodb/pulled-stream.ts'
import { Requests } from '../../storage/dynamodb/requests.ts'
import { CHECKPOINT_KEEP_MS } from '../../storage/dynamodb/retention.ts'
import {
  entriesOfStreamRecords,
  type StreamRecordLike,
} from '../../storage/dynamodb/stream-records.ts'
import type { TableNames } from '../../storage/dynamodb/tables.ts'
import { itemTime, type RollupEntry, type StreamPosition } from '../../storage/store.ts'
import { EventsStream } from './events-stream.ts'

/** A record's entries waiting to be counted, with when it was accepted and when each happened. */
interface Waiting {
  entries: RollupEntry[]
  acceptedAt: number
}

/**
 * The Events stream read from outside Lambda, after the local poller's checkpoint of each
 * shard (`ckpt#shardId-…`): what the poller (stream-poller.ts) has not delivered yet. The
 * store takes it as its PulledStream where the poller plays the event source mapping (the
 * tests, `npm run dev:aws`), and the poller records here how far it delivered.
 */
export class LocalStreamBacklog implements PulledStream {
  /** The Events stream itself, for the poller that plays the event source mapping. */
  readonly stream: EventsStream
  private readonly requests: Requests
  /** Shards `pending` handed entries of out: the only streams `rolledUp` records. */
  private readonly handedOut = new Set<string>()

  constructor(
    clients: DynamoClients,
    private readonly tables: TableNames,
  ) {
    this.stream = new EventsStream(clients.ddb, clients.streams, tables.events)
    this.requests = new Requests(clients.doc)
  }

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

  async backlog(): Promise<number> {
    let entries = 0
    for (const { entries: of } of await this.allPending()) entries += of.length
    return entries
  }

  async oldestPendingAcceptedAt(): Promise<number | null> {
    // A loop, not Math.min(...all): a backlog of a few hundred thousand would overflow the stack.
    let oldest: number | null = null
    for (const { acceptedAt } of await this.allPending()) {
      if (oldest === null || acceptedAt < oldest) oldest = acceptedAt
    }
    return oldest
  }

  async oldestPendingEventAt(): Promise<number | null> {
    let oldest = Number.POSITIVE_INFINITY
    for (const { entries } of await this.allPending()) {
      for (const { item } of entries) oldest = Math.min(oldest, itemTime(item))
    }
    return oldest === Number.POSITIVE_INFINITY ? null : oldest
  }

  /**
   * How far the local poller delivered a shard: its checkpoint, with the sequence number as
   * the stream wrote it when the poller recorded one (a read can then start right after it).
   */
  async deliveredThrough(
    shard: string,
  ): Promise<{ position: string; sequenceNumber?: string } | undefined> {
    const item = await this.requests.getItem(this.tables.state, {
      pk: STATE.checkpoint(shard),
      sk: STATE.one,
    })
    if (!item) return undefined
    return {
      position: String(item.through),
      ...(typeof item.sequence === 'string' ? { sequenceNumber: item.sequence } : {}),
    }
  }

  /**
   * Positions of `pending`'s entries (their streams are shards) that a unit rolled up; a
   * unit fed by the poller (its streams are tracker sessions) records nothing here, and
   * asks the stream nothing.
   */
  async rolledUp(through: readonly StreamPosition[]): Promise<void> {
    for (const { stream, position } of through) {
      if (!this.handedOut.has(stream)) continue
      // Forward only: a redelivered part of a batch was read before, not after, the rest.
      const now = await this.deliveredThrough(stream)
      if (now && comparePositions(position, now.position) <= 0) continue
      await this.requests.put('PutItem(checkpoint)', {
        TableName: this.tables.state,
        Item: {
          pk: STATE.checkpoint(stream),
          sk: STATE.one,
          through: position,
          expires_at: ttlSeconds(Date.now() + CHECKPOINT_KEEP_MS),
        },
      })
    }
  }

  /** The local poller delivered a shard through this record (what the event source mapping keeps). */
  async recordDelivered(shard: string, sequenceNumber: string): Promise<void> {
    await this.requests.put('PutItem(checkpoint)', {
      TableName: this.tables.state,
      Item: {
        pk: STATE.checkpoint(shard),
        sk: STATE.one,
        // Every entry of the record (a request item's events) is delivered with it.
        through: lastPositionOf(sequenceNumber),
        sequence: sequenceNumber,
        expires_at: ttlSeconds(Date.now() + CHECKPOINT_KEEP_MS),
      },
    })
  }

  private async pendingOf(shard: string, limit: number): Promise<RollupEntry[]> {
    const entries: RollupEntry[] = []
    for await (const waiting of this.pendingRecords(shard)) {
      // Entries of one record at most to the limit: the rest wait for the next unit.
      entries.push(...waiting.entries.slice(0, limit - entries.length))
      if (entries.length >= limit) break
    }
    if (entries.length > 0) this.handedOut.add(shard)
    return entries
  }

  /**
   * A shard's records after the poller's checkpoint that wait to be counted, oldest first,
   * each with its entries not rolled up nor set aside yet (a request item is an entry per
   * event, each at a position of its own: stream-records.ts).
   */
  private async *pendingRecords(shard: string): AsyncGenerator<Waiting> {
    const delivered = await this.deliveredThrough(shard)
    const through = delivered?.position
    const dead = await this.deadPositions(shard)
    for await (const records of this.stream.records(shard, delivered?.sequenceNumber)) {
      for (const record of records) {
        const image = record.dynamodb?.NewImage
        const sequence = record.dynamodb?.SequenceNumber
        if (record.eventName !== 'INSERT' || !image || !sequence) continue
        const entries = entriesOfStreamRecords([record as StreamRecordLike])
          .map((entry) => ({ ...entry, stream: shard }))
          .filter(
            ({ position }) =>
              !(through !== undefined && comparePositions(position, through) <= 0) &&
              !dead.has(position),
          )
        if (entries.length === 0) continue
        yield { entries, acceptedAt: Number(unmarshall(image).accepted_at) }
      }
    }
  }

  /** Every pending record with when it was accepted and when it happened, across shards. */
  private async allPending(): Promise<Waiting[]> {
    const out: Waiting[] = []
    for (const shard of await this.stream.shards()) {
      for await (const waiting of this.pendingRecords(shard)) out.push(waiting)
    }
    return out
  }

  /** Positions of the shard's records the roll-up set aside (RollupQueue.deadLetter). */
  private async deadPositions(stream: string): Promise<Set<string>> {
    const items = await this.requests.queryAll({
      TableName: this.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': STATE.deadLetters(stream) },
      ProjectionExpression: 'sk',
      ConsistentRead: true,
    })
    return new Set(items.map((item) => String(item.sk)))
  }
}
