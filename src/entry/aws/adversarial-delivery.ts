import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import { seededRandom } from '../../core/seeded-random.ts'
import type { RollupHandler } from './rollup-handler.ts'

/**
 * How far the local event source mapping (stream-poller.ts) strays from the plain in-order
 * delivery, within what AWS documents for a DynamoDB stream's event source mapping
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, services-dynamodb-errors.html,
 * services-ddb-batchfailurereporting.html): delivery is at least once, a batch that throws is
 * bisected, a partial batch response has the batch retried from its first failed record,
 * records past the retries go to the on-failure destination, and a shard's records keep their
 * order per item only. Every choice is drawn from `seed`, so a schedule can be replayed.
 */
export interface AdversaryOptions {
  seed: number
  /** Of each delivered batch, the chance it is delivered again later (a duplicate). */
  duplicates?: number
  /** Of each delivered batch, the chance it is delivered twice at once (overlapping runs). */
  overlaps?: number
  /**
   * Batches of one shard in flight at once (the mapping's ParallelizationFactor). Above 1
   * they run concurrently and finish in any order; records of one item keep their order
   * because every item of the Events table is written once.
   */
  parallelization?: number
  /**
   * Shards the records are spread over by partition key, each delivered in order and all at
   * once: DynamoDB Local's table streams have one shard, AWS's several.
   */
  shards?: number
}

/** Where a record past its retries goes (the mapping's on-failure destination). */
export type Destination = (record: DynamoDBRecord, error: unknown) => Promise<void>

/** What one delivery of a batch came to: records done with, counted or sent away. */
type Outcome = { done: number }

/**
 * Delivers one poll's records of a shard as AWS may: batches of random sizes up to
 * `batchSize`, some delivered again later or twice at once, several in flight at once,
 * spread over several shards. Failures are handled as the mapping handles them: a batch
 * that throws is bisected down to the record it fails on, a partial batch response is
 * retried from its first failed record, and a record that fails alone more than `maxRetries`
 * times goes to the destination `deliver` is given. Resolves once every record is counted or
 * sent away.
 */
export class AdversarialDelivery {
  private readonly random: () => number
  private readonly tries = new Map<string, number>()

  constructor(
    private readonly handler: RollupHandler,
    private readonly options: AdversaryOptions & { batchSize: number; maxRetries: number },
  ) {
    this.random = seededRandom(options.seed)
  }

  private toDestination: Destination = async () => {}

  async deliver(records: readonly DynamoDBRecord[], toDestination: Destination): Promise<void> {
    this.toDestination = toDestination
    const shards = Math.max(1, this.options.shards ?? 1)
    const byShard = Array.from({ length: shards }, () => [] as DynamoDBRecord[])
    for (const record of records) byShard[shardOf(record, shards)]?.push(record)
    await Promise.all(byShard.map((own) => this.deliverShard(own)))
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p
  }

  /** A shard's records: cut into batches, `parallelization` of them at a time. */
  private async deliverShard(records: readonly DynamoDBRecord[]): Promise<void> {
    const later: DynamoDBRecord[][] = []
    const parallel = Math.max(1, this.options.parallelization ?? 1)
    let next = 0
    while (next < records.length) {
      const round: DynamoDBRecord[][] = []
      for (let n = 0; n < parallel && next < records.length; n++) {
        const size = 1 + Math.floor(this.random() * this.options.batchSize)
        round.push(records.slice(next, next + size))
        next += size
      }
      await Promise.all(
        round.map(async (batch) => {
          // With several in flight, any of them may start first.
          if (parallel > 1) await pause(Math.floor(this.random() * 5))
          await this.untilDone(batch)
          if (this.chance(this.options.duplicates)) later.push(batch)
        }),
      )
    }
    // Delivered again after the rest (as a retry may be, hours later), cut anew.
    for (const batch of later) {
      const cut = 1 + Math.floor(this.random() * batch.length)
      await this.untilDone(batch.slice(0, cut))
      if (cut < batch.length) await this.untilDone(batch.slice(cut))
    }
  }

  /** Delivers a batch until every record of it is done with, as the mapping retries it. */
  private async untilDone(batch: readonly DynamoDBRecord[]): Promise<void> {
    let left = batch
    while (left.length > 0) {
      const { done } = await this.once(left)
      left = left.slice(done)
    }
  }

  /** One delivery (twice at once, when overlapping): how many leading records are done. */
  private async once(batch: readonly DynamoDBRecord[]): Promise<Outcome> {
    const event = { Records: [...batch] } satisfies DynamoDBStreamEvent
    let answer: Awaited<ReturnType<RollupHandler>>
    try {
      if (this.chance(this.options.overlaps)) {
        const [first] = await Promise.all([this.handler(event), this.handler(event)])
        answer = first
      } else {
        answer = await this.handler(event)
      }
    } catch (error) {
      if (batch.length > 1) {
        // Bisect on function error: each half is delivered (and retried) on its own.
        const half = Math.ceil(batch.length / 2)
        await this.untilDone(batch.slice(0, half))
        await this.untilDone(batch.slice(half))
        return { done: batch.length }
      }
      return this.failedAlone(batch[0] as DynamoDBRecord, error)
    }
    const failed = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier))
    if (failed.size === 0) return { done: batch.length }
    // Partial batch response: the records before the first failed one are done.
    const first = batch.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber ?? ''))
    if (first > 0) return { done: first }
    return this.failedAlone(batch[0] as DynamoDBRecord, new Error('reported as failed'))
  }

  private async failedAlone(record: DynamoDBRecord, error: unknown): Promise<Outcome> {
    const sequence = record.dynamodb?.SequenceNumber ?? ''
    const tries = (this.tries.get(sequence) ?? 0) + 1
    this.tries.set(sequence, tries)
    if (tries <= this.options.maxRetries) return { done: 0 }
    this.tries.delete(sequence)
    await this.toDestination(record, error)
    return { done: 1 }
  }
}

/** The shard a record's partition key hashes to, among `shards`. */
function shardOf(record: DynamoDBRecord, shards: number): number {
  const pk = record.dynamodb?.Keys?.pk?.S ?? ''
  let hash = 0
  for (let i = 0; i < pk.length; i++) hash = (Math.imul(hash, 31) + pk.charCodeAt(i)) >>> 0
  return hash % shards
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
