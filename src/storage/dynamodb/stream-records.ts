import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { RollupEntry } from '../store.ts'
import { type Item, queuedItemOf } from './items.ts'
import { positionOf } from './keys.ts'

/** What the roll-up reads of a DynamoDB stream record, as Lambda hands it or GetRecords reads it. */
export interface StreamRecordLike {
  eventName?: string
  dynamodb?: {
    Keys?: Record<string, unknown>
    NewImage?: Record<string, unknown>
    SequenceNumber?: string
  }
}

/**
 * The roll-up entries of a batch of Events stream records. Each partition key is a stream
 * of its own (README.md, "Counting once"): a Lambda batch does not name its shard, but
 * Lambda keeps one partition key's records in order, and one partition key is one tracker
 * session. Only INSERTs of collected items count: TTL and sweep deletions reach the stream
 * too, and imported history was counted when it was imported.
 */
export function entriesOfStreamRecords(records: readonly StreamRecordLike[]): RollupEntry[] {
  const entries: RollupEntry[] = []
  for (const record of records) {
    const data = record.dynamodb
    if (record.eventName !== 'INSERT' || !data?.NewImage || !data.SequenceNumber) continue
    const item = unmarshall(data.NewImage as Record<string, AttributeValue>) as Item
    if (item.imported || typeof item.pk !== 'string') continue
    entries.push({
      stream: item.pk,
      position: positionOf(data.SequenceNumber),
      item: queuedItemOf(item),
      origin: { partition: item.pk, id: String(item.sk) },
    })
  }
  return entries
}

/** One record's entries, or why its image cannot be read (it is then kept, not counted). */
export function readStreamRecord(record: StreamRecordLike): {
  entries: RollupEntry[]
  unreadable?: unknown
} {
  try {
    return { entries: entriesOfStreamRecords([record]) }
  } catch (error) {
    return { entries: [], unreadable: error }
  }
}
