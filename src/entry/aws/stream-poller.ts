import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams'
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import { errorMessage } from '../../core/error-message.ts'
import type { Logger } from '../../log/logger.ts'
import { positionOf } from '../../storage/dynamodb/keys.ts'
import { readStreamRecord } from '../../storage/dynamodb/stream-records.ts'
import type { RollupQueue } from '../../storage/store.ts'
import { AdversarialDelivery, type AdversaryOptions } from './adversarial-delivery.ts'
import type { LocalStreamBacklog } from './local-stream-backlog.ts'
import type { RollupHandler } from './rollup-handler.ts'

/**
 * An image as Lambda's JSON event carries it: a binary attribute as base64 text (GetRecords
 * reads it as bytes).
 */
function lambdaImage(image: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(image)) {
    const b = (value as { B?: unknown }).B
    out[name] = b instanceof Uint8Array ? { B: Buffer.from(b).toString('base64') } : value
  }
  return out
}

/** A record as Lambda hands it: GetRecords' record with the event source's fields. */
export function lambdaRecordOf(
  record: SdkStreamRecord,
  eventSourceARN: string,
  awsRegion: string,
): DynamoDBRecord {
  const data = record.dynamodb ?? {}
  const created = data.ApproximateCreationDateTime
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion,
    eventSourceARN,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}),
      Keys: data.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      NewImage:
        data.NewImage &&
        (lambdaImage(data.NewImage) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage']),
      SequenceNumber: data.SequenceNumber ?? '',
      SizeBytes: data.SizeBytes ?? 0,
      StreamViewType: 'NEW_IMAGE',
    },
  }
}

export interface StreamPollerOptions {
  /** How often the stream is read; Lambda's event source mapping polls four times a second. */
  intervalMs?: number
  /** Records per batch handed to the handler (the event source mapping's BatchSize). */
  batchSize?: number
  region?: string
  /** Failed tries of a record alone before it goes to the dead letters (MaximumRetryAttempts). */
  maxRetries?: number
  /**
   * Delivers as AWS may on a bad day instead of in plain order: random batch sizes up to
   * `batchSize`, duplicates, overlapping runs, concurrent batches, several shards
   * (adversarial-delivery.ts). Off by default; the property test and `npm run dev:aws` with
   * `ADVERSARY_SEED` turn it on.
   */
  adversary?: AdversaryOptions
}

/**
 * What the event source mapping does on AWS, for `npm run dev:aws` and the tests: reads the
 * Events table's stream of DynamoDB Local, hands the roll-up handler Lambda-shaped batches,
 * shard by shard in order, and keeps each shard's position (a checkpoint the backlog's
 * `pending` and `backlog` read, and so the store's). A batch that fails is delivered again on
 * the next poll; one that throws is bisected until the record it fails on is alone, and that
 * record goes to the store's dead letters after `maxRetries` tries (the on-failure
 * destination's part).
 */
export class StreamPoller {
  private readonly intervalMs: number
  private readonly batchSize: number
  private readonly region: string
  private readonly maxRetries: number
  private readonly after = new Map<string, string>()
  private readonly tries = new Map<string, number>()
  private readonly adversary: AdversarialDelivery | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined
  private closed = false

  constructor(
    private readonly backlog: LocalStreamBacklog,
    private readonly store: Pick<RollupQueue, 'deadLetter'>,
    private readonly handler: RollupHandler,
    private readonly logger: Logger,
    options: StreamPollerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250
    this.batchSize = options.batchSize ?? 100
    this.region = options.region ?? 'ap-northeast-2'
    this.maxRetries = options.maxRetries ?? 3
    this.adversary = options.adversary
      ? new AdversarialDelivery(handler, {
          ...options.adversary,
          batchSize: this.batchSize,
          maxRetries: this.maxRetries,
        })
      : undefined
  }

  start(): void {
    const tick = () => {
      if (this.closed) return
      this.poll()
        .catch((error: unknown) => this.logger.error({ err: error }, 'stream poll failed'))
        .finally(() => {
          if (!this.closed) {
            this.timer = setTimeout(tick, this.intervalMs)
            this.timer.unref()
          }
        })
    }
    tick()
  }

  /** Delivers until a poll finds nothing new (what was accepted before the call is counted). */
  async settle(): Promise<void> {
    while ((await this.poll()) > 0) {}
  }

  close(): Promise<unknown> {
    this.closed = true
    clearTimeout(this.timer)
    return this.running ?? Promise.resolve()
  }

  /** One pass over every shard; resolves to the records delivered. */
  poll(): Promise<number> {
    const run = (this.running ?? Promise.resolve(0)).then(() => this.pollShards())
    this.running = run.catch(() => 0)
    return run
  }

  private async pollShards(): Promise<number> {
    const { stream } = this.backlog
    const arn = await stream.sourceArn()
    let delivered = 0
    for (const shard of await stream.shards()) {
      let after = this.after.get(shard)
      if (after === undefined) after = (await this.backlog.deliveredThrough(shard))?.sequenceNumber
      const records: SdkStreamRecord[] = []
      for await (const page of stream.records(shard, after)) records.push(...page)
      if (this.adversary && records.length > 0) {
        await this.adversary.deliver(
          records.map((r) => lambdaRecordOf(r, arn, this.region)),
          (record, error) => this.toDestination(record, error, shard),
        )
        await this.advance(shard, records.at(-1)?.dynamodb?.SequenceNumber)
        delivered += records.length
        continue
      }
      for (let i = 0; i < records.length; i += this.batchSize) {
        const batch = records
          .slice(i, i + this.batchSize)
          .map((r) => lambdaRecordOf(r, arn, this.region))
        const done = await this.deliver(shard, batch)
        delivered += done
        if (done < batch.length) return delivered
      }
    }
    return delivered
  }

  /** Hands one batch over; resolves to how many of its records are done with. */
  private async deliver(shard: string, batch: DynamoDBRecord[]): Promise<number> {
    let answer: Awaited<ReturnType<RollupHandler>>
    try {
      answer = await this.handler({ Records: batch } satisfies DynamoDBStreamEvent)
    } catch (error) {
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2)
        const first = await this.deliver(shard, batch.slice(0, half))
        if (first < half) return first
        return first + (await this.deliver(shard, batch.slice(half)))
      }
      return this.failedAlone(shard, batch[0] as DynamoDBRecord, error)
    }
    if (answer.batchItemFailures.length > 0) return 0
    // A record that failed alone before and has gone through now is no longer counted down.
    if (this.tries.size > 0) {
      for (const record of batch) this.tries.delete(record.dynamodb?.SequenceNumber ?? '')
    }
    await this.advance(shard, batch.at(-1)?.dynamodb?.SequenceNumber)
    return batch.length
  }

  private async failedAlone(shard: string, record: DynamoDBRecord, error: unknown) {
    const sequence = record.dynamodb?.SequenceNumber ?? ''
    const tries = (this.tries.get(sequence) ?? 0) + 1
    this.tries.set(sequence, tries)
    if (tries <= this.maxRetries) return 0
    this.tries.delete(sequence)
    await this.toDestination(record, error, shard)
    await this.advance(shard, sequence)
    return 1
  }

  /** What the on-failure destination does with a record past its retries: keeps it aside. */
  private async toDestination(record: DynamoDBRecord, error: unknown, shard: string) {
    const sequence = record.dynamodb?.SequenceNumber ?? ''
    const reason = errorMessage(error)
    // Kept whole where it can be read (what an S3 destination receives), under its shard:
    // each of its entries (a request item's events) at its own position.
    const { entries } = readStreamRecord(record)
    const kept =
      entries.length > 0
        ? entries.map((entry) => ({ ...entry, stream: shard }))
        : [{ stream: shard, position: positionOf(sequence) }]
    for (const entry of kept) await this.store.deadLetter(entry, reason, Date.now())
    this.logger.error({ shard, sequence, reason }, 'roll-up: record moved to the dead letters')
  }

  private async advance(shard: string, sequence: string | undefined): Promise<void> {
    if (!sequence) return
    await this.backlog.recordDelivered(shard, sequence)
    this.after.set(shard, sequence)
  }
}
