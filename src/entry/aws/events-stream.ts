import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams'
import { call } from '../../storage/dynamodb/faults.ts'

/**
 * Reads the Events table's stream from outside Lambda: what `npm run dev:aws` and the tests
 * feed the roll-up from (on AWS, the event source mapping reads it and hands Lambda batches).
 */
export class EventsStream {
  private arn: string | undefined

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly streams: DynamoDBStreamsClient,
    private readonly table: string,
  ) {}

  private async streamArn(): Promise<string> {
    if (this.arn) return this.arn
    const described = await call('DescribeTable', () =>
      this.ddb.send(new DescribeTableCommand({ TableName: this.table })),
    )
    const arn = described.Table?.LatestStreamArn
    if (!arn) throw new Error(`EventsStream: table ${this.table} has no stream`)
    this.arn = arn
    return arn
  }

  /** The stream's ARN, as Lambda's records name it in eventSourceARN. */
  async sourceArn(): Promise<string> {
    return this.streamArn()
  }

  /** Shard ids, parents before their children (a child's records come after its parent's). */
  async shards(): Promise<string[]> {
    const StreamArn = await this.streamArn()
    const found: Array<{ id: string; parent: string | undefined }> = []
    let ExclusiveStartShardId: string | undefined
    do {
      const page = await call('DescribeStream', () =>
        this.streams.send(new DescribeStreamCommand({ StreamArn, ExclusiveStartShardId })),
      )
      for (const shard of page.StreamDescription?.Shards ?? []) {
        if (shard.ShardId) found.push({ id: shard.ShardId, parent: shard.ParentShardId })
      }
      ExclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId
    } while (ExclusiveStartShardId)
    const ids = new Set(found.map((s) => s.id))
    const ordered: string[] = []
    const placed = new Set<string>()
    const place = (id: string) => {
      if (placed.has(id)) return
      const parent = found.find((s) => s.id === id)?.parent
      if (parent && ids.has(parent)) place(parent)
      placed.add(id)
      ordered.push(id)
    }
    for (const s of [...found].sort((a, b) => (a.id < b.id ? -1 : 1))) place(s.id)
    return ordered
  }

  /**
   * Every record of a shard that is there now (after the sequence number `after`, as the
   * stream wrote it), oldest first, page by page (at most 1,000 a page). Stops at the first empty page: on an open shard that is where its records end
   * for now.
   */
  async *records(shard: string, after?: string): AsyncGenerator<StreamRecord[]> {
    const StreamArn = await this.streamArn()
    const start = await call('GetShardIterator', () =>
      this.streams.send(
        new GetShardIteratorCommand({
          StreamArn,
          ShardId: shard,
          ...(after
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      ),
    )
    let iterator = start.ShardIterator
    while (iterator) {
      const ShardIterator: string = iterator
      const page = await call('GetRecords', () =>
        this.streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 })),
      )
      const records = page.Records ?? []
      if (records.length === 0) return
      yield records
      iterator = page.NextShardIterator
    }
  }
}
