import {
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { batchWriteAll } from './batch-write.ts'
import { type Backoff, call, DEFAULT_BACKOFF } from './faults.ts'
import type { Item } from './items.ts'
import type { TableNames } from './tables.ts'

/** What each part of the store works with. */
export interface StoreContext {
  doc: DynamoDBDocumentClient
  requests: Requests
  tables: TableNames
  /** The clock accepts record their time by (oldestPendingAcceptedAt). */
  now: () => number
  /** How long raw events are kept (their TTL). */
  eventTtlMs: number
}

/**
 * The requests the store's parts share, over one document client: consistent reads, whole
 * queries, and batches whose leftovers are retried with the store's backoff.
 */
export class Requests {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {}

  async getItem(TableName: string, Key: Item): Promise<Item | undefined> {
    const found = await call(`GetItem(${TableName})`, () =>
      this.doc.send(new GetCommand({ TableName, Key, ConsistentRead: true })),
    )
    return found.Item
  }

  /** One page of a Query; `where` names it in the fault it may report. */
  query(where: string, input: QueryCommandInput): Promise<QueryCommandOutput> {
    return call(where, () => this.doc.send(new QueryCommand(input)))
  }

  async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const out: Item[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const page = await this.query(`Query(${input.TableName})`, { ...input, ExclusiveStartKey })
      for (const item of page.Items ?? []) out.push(item)
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return out
  }

  async put(where: string, input: PutCommandInput): Promise<void> {
    await call(where, () => this.doc.send(new PutCommand(input)))
  }

  async delete(where: string, input: DeleteCommandInput): Promise<void> {
    await call(where, () => this.doc.send(new DeleteCommand(input)))
  }

  async update(where: string, input: UpdateCommandInput): Promise<void> {
    await call(where, () => this.doc.send(new UpdateCommand(input)))
  }

  async transact(
    where: string,
    TransactItems: TransactWriteCommandInput['TransactItems'],
  ): Promise<void> {
    await call(where, () => this.doc.send(new TransactWriteCommand({ TransactItems })))
  }

  async batchDelete(TableName: string, keys: readonly Item[]): Promise<void> {
    await batchWriteAll(
      this.doc,
      TableName,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
      this.backoff,
    )
  }
}

/** Runs `run` over the items, at most `limit` at a time; results in the items' order. */
export async function inParallel<T, R>(
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

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
}

/** Why each item of a cancelled transaction failed, in the transaction's order. */
export function cancellationCodes(error: unknown): Array<string | undefined> | undefined {
  if ((error as { name?: string } | null)?.name !== 'TransactionCanceledException') return
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons
  return reasons?.map((r) => (r.Code === 'None' ? undefined : r.Code))
}

/**
 * An id longer than any this store writes into a key (ids are at most 128 characters,
 * long values are shortened by keyValue): nothing is stored under it, and DynamoDB would
 * refuse the key as too large (a ValidationException, which would answer 500).
 */
export function unstorable(...parts: string[]): boolean {
  return parts.some((part) => Buffer.byteLength(part) > 1000)
}
