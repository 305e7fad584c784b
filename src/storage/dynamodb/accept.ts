import { randomBytes, randomUUID } from 'node:crypto'
import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { BotHit, EnrichedEvent } from '../../core/types.ts'
import type { Accepted, Intake } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import { storageFault } from './faults.ts'
import { botItem, eventItem, type Item } from './items.ts'
import { STATE } from './keys.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'

/** Parallel PutItems of one accept (a collector request holds up to 100 events). */
const FAN_OUT = 16

/** The accept stage's side: raw events and bot hits into the Events table, and the salts. */
export class DynamoDbIntake implements Intake {
  constructor(private readonly c: StoreContext) {}

  /**
   * A conditional PutItem per new event (its key not stored yet) and a BatchWriteItem for the
   * bot hits: no transaction, which would bill every item twice
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling).
   * An accept that fails part-way may leave some of its events stored; it answers
   * unavailable, the client sends the request again, and the events stored the first time
   * are refused as duplicates by their key: each is stored once, and counted once (the
   * roll-up counts an event by that key). Duplicates in one accept are refused alike.
   */
  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const acceptedAt = this.c.now()
    const context = { acceptedAt, eventTtlMs: this.c.eventTtlMs }
    const seen = new Set<string>()
    const puts: Array<{ index: number; item: Item }> = []
    events.forEach((event, index) => {
      const item = eventItem(event, context)
      const id = `${item.pk}\u0000${item.sk}`
      // The same event twice in one accept: the second is a duplicate.
      if (seen.has(id)) return
      seen.add(id)
      puts.push({ index, item })
    })
    const fresh = new Array<boolean>(events.length).fill(false)
    const TableName = this.c.tables.events
    // A tracker session's events are written one after another, so its stream records come
    // in the order it sent them (DynamoDB Streams orders records per item only:
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); sessions
    // are written side by side.
    const bySession = new Map<unknown, Array<{ index: number; item: Item }>>()
    for (const put of puts) {
      const run = bySession.get(put.item.pk)
      if (run) run.push(put)
      else bySession.set(put.item.pk, [put])
    }
    await inParallel([...bySession.values()], FAN_OUT, async (run) => {
      for (const { index, item } of run) {
        try {
          await this.c.doc.send(
            new PutCommand({
              TableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          )
          fresh[index] = true
        } catch (error) {
          if (!isConditionFailure(error)) throw storageFault('PutItem(accept)', error)
        }
      }
    })
    if (bots.length > 0) {
      await batchWriteAll(
        this.c.doc,
        TableName,
        bots.map((hit) => ({ PutRequest: { Item: botItem(hit, context, randomUUID()) } })),
      )
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
