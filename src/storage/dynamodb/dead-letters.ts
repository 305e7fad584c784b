import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { itemTime, type RollupEntry, type SetAside, type StreamPosition } from '../store.ts'
import { call, storageFault } from './faults.ts'
import { STATE } from './keys.ts'
import { isConditionFailure, type StoreContext } from './requests.ts'

/**
 * Items the roll-up set aside (RollupQueue.deadLetter), whole, and their summary: what
 * `npm run replay:aws` counts later, and what `/api/stats` says is missing since when.
 */
export class DeadLetters {
  constructor(private readonly c: StoreContext) {}

  /**
   * Keeps the item aside, whole where the caller has it, and counts it in the summary that
   * `setAside` reads (one item: the dead letters of every stream are not one Query). An item
   * set aside twice (a redelivered record) is kept once and counted once.
   */
  async deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void> {
    const item = 'item' in entry ? (entry as RollupEntry).item : undefined
    const origin = (entry as Partial<RollupEntry>).origin
    const Item = {
      pk: STATE.deadLetters(entry.stream),
      sk: entry.position,
      reason,
      failed_at: at,
      ...(item ? { payload: JSON.stringify(item) } : {}),
      // Its key, by which a replay counts it once (the fold's counted keys).
      ...(origin ? { origin: JSON.stringify(origin) } : {}),
    }
    const TableName = this.c.tables.state
    try {
      await this.c.doc.send(
        new PutCommand({ TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(dead letter)', error)
      await this.c.requests.put('PutItem(dead letter)', { TableName, Item })
      return
    }
    const since = item ? itemTime(item) : at
    const Key = { pk: STATE.setAsidePk, sk: STATE.one }
    await call('UpdateItem(dead letters)', () =>
      this.c.doc.send(
        new UpdateCommand({
          TableName,
          Key,
          UpdateExpression: 'ADD #items :one',
          ExpressionAttributeNames: { '#items': 'items' },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      ),
    )
    try {
      await this.c.doc.send(
        new UpdateCommand({
          TableName,
          Key,
          UpdateExpression: 'SET since = :t',
          ConditionExpression: 'attribute_not_exists(since) OR since > :t',
          ExpressionAttributeValues: { ':t': since },
        }),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('UpdateItem(dead letters)', error)
    }
  }

  async setAside(): Promise<SetAside | null> {
    const found = await call('GetItem(dead letters)', () =>
      this.c.doc.send(
        new GetCommand({
          TableName: this.c.tables.state,
          Key: { pk: STATE.setAsidePk, sk: STATE.one },
          ConsistentRead: true,
        }),
      ),
    )
    const items = Number(found.Item?.items ?? 0)
    const since = found.Item?.since
    return items > 0 && typeof since === 'number' ? { items, since } : null
  }
}
