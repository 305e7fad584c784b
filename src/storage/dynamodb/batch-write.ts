import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { type Backoff, DEFAULT_BACKOFF, untilAllProcessed } from './faults.ts'

export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } }

/**
 * Puts and deletes in BatchWriteItem requests of 25, leftovers (UnprocessedItems) sent again
 * with backoff until none is left: for work that is idempotent item by item (a sweep's
 * deletes, a move's puts), never for counters.
 */
export async function batchWriteAll(
  doc: DynamoDBDocumentClient,
  TableName: string,
  requests: readonly WriteRequest[],
  backoff: Backoff = DEFAULT_BACKOFF,
): Promise<void> {
  for (const part of chunk(requests, 25)) {
    await untilAllProcessed(
      `BatchWriteItem(${TableName})`,
      part,
      async (left) => {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: left } }))
        const unprocessed = out.UnprocessedItems?.[TableName]
        return unprocessed && unprocessed.length > 0 ? (unprocessed as WriteRequest[]) : undefined
      },
      backoff,
    )
  }
}

/** Items in runs of at most `size`, in order. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
