import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { RollupEntry } from '../store.ts'
import { type Item, queuedEventOf, queuedItemOf } from './items.ts'
import { clientPartition, eventSortKey, positionOf } from './keys.ts'
import { isRequestItem, requestEvents } from './request-items.ts'

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
 * The roll-up entries of a batch of Events stream records. Only INSERTs of collected items
 * count: TTL and sweep deletions reach the stream too, a user erasure's rewrite of a request
 * item is a MODIFY, and imported history was counted when it was imported.
 *
 * A request item (request-items.ts) is one entry per event, in the order the request sent
 * them, each with a position of its own within the record's (keys.ts `positionOf`) and its
 * own identity as `origin`: its tracker session's partition and `time#event_id`, what the
 * roll-up counts it once by (fold-state.ts `identityOf`), so an event that came again in
 * another request, or as an event item of the release before, is counted once. The fold
 * takes a unit's events in any order. A bot hit, and an event item an older release wrote
 * (still on the stream for a day after an upgrade), is one entry, keyed by its own item.
 */
export function entriesOfStreamRecords(records: readonly StreamRecordLike[]): RollupEntry[] {
  const entries: RollupEntry[] = []
  for (const record of records) {
    const data = record.dynamodb
    if (record.eventName !== 'INSERT' || !data?.NewImage || !data.SequenceNumber) continue
    const item = unmarshall(data.NewImage as Record<string, AttributeValue>) as Item
    if (item.imported || typeof item.pk !== 'string') continue
    const sequence = data.SequenceNumber
    if (isRequestItem(item)) {
      requestEvents(item).forEach((event, index) => {
        entries.push({
          stream: item.pk as string,
          position: positionOf(sequence, index),
          item: { kind: 'event', event: queuedEventOf(event) },
          origin: {
            partition: clientPartition(event.site_id, event.client_session_id),
            id: eventSortKey(event.timestamp, event.event_id),
          },
        })
      })
      continue
    }
    entries.push({
      stream: item.pk,
      position: positionOf(sequence),
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
