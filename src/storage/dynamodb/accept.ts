import { randomBytes, randomUUID } from 'node:crypto'
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import type { BotHit, EnrichedEvent } from '../../core/types.ts'
import type { Accepted, Intake } from '../store.ts'
import { chunk } from './batch-write.ts'
import { storageFault } from './faults.ts'
import { botItem, eventItem } from './items.ts'
import { STATE } from './keys.ts'
import { cancellationCodes, isConditionFailure, type StoreContext } from './requests.ts'
import type { WriteOp } from './unit-writer.ts'

/** The accept stage's side: raw events and bot hits into the Events table, and the salts. */
export class DynamoDbIntake implements Intake {
  constructor(private readonly c: StoreContext) {}

  /**
   * One transaction per 100 items: every new event with the condition that its key is not
   * stored yet, every bot hit. A transaction cancelled by those conditions names the
   * duplicates; it is sent again without them. So an accept of up to 100 items (one
   * collector request) is stored whole or not at all, and a fault leaves nothing behind.
   */
  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const acceptedAt = this.c.now()
    const context = { acceptedAt, eventTtlMs: this.c.eventTtlMs }
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
            TableName: this.c.tables.events,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      })
    })
    for (const hit of bots) {
      const item = botItem(hit, context, randomUUID())
      ops.push({ index: -1, op: { Put: { TableName: this.c.tables.events, Item: item } } })
    }
    for (const part of chunk(ops, 100)) {
      let left = part
      while (left.length > 0) {
        try {
          await this.c.doc.send(new TransactWriteCommand({ TransactItems: left.map((o) => o.op) }))
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

  async dailySalt(day: string): Promise<string> {
    const Key = { pk: STATE.saltsPk, sk: day }
    const stored = await this.c.requests.getItem(this.c.tables.state, Key)
    if (stored) return String(stored.salt)
    try {
      const salt = randomBytes(32).toString('base64url')
      await this.c.doc.send(
        new PutCommand({
          TableName: this.c.tables.state,
          Item: { ...Key, salt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      return salt
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(salt)', error)
      // Another process made it first: theirs is the day's salt.
      return String((await this.c.requests.getItem(this.c.tables.state, Key))?.salt)
    }
  }
}
