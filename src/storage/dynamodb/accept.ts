import { randomBytes, randomUUID } from 'node:crypto'
import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { BotHit, EnrichedEvent } from '../../core/types.ts'
import type { Accepted, Intake } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import { storageFault } from './faults.ts'
import { botItem } from './items.ts'
import { STATE } from './keys.ts'
import { eventIdentity, requestItems } from './request-items.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'

/** Parallel PutItems of one accept: one per site's request (several only on the dev server). */
const FAN_OUT = 16

/** The accept stage's side: raw events and bot hits into the Events table, and the salts. */
export class DynamoDbIntake implements Intake {
  constructor(private readonly c: StoreContext) {}

  /**
   * One conditional PutItem per collector request, its events packed into one item
   * (request-items.ts; an accept holding several requests of the dev server's group commit
   * writes one per site, side by side), and a BatchWriteItem for the bot hits: no
   * transaction, which would bill every item twice
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling).
   *
   * The item's key is drawn from its events, so the same request sent again (the client
   * retries after an unavailable answer) is refused by `attribute_not_exists` and its events
   * are not fresh. An event that comes again in another request is stored again, and the
   * roll-up counts it once all the same: it counts an event by its identity, not by the item
   * that carries it (stream-records.ts, fold-state.ts `identityOf`); the live view and the
   * timelines show it once. Duplicates within one accept are taken out before packing.
   */
  async accept(events: readonly EnrichedEvent[], bots: readonly BotHit[]): Promise<Accepted> {
    const acceptedAt = this.c.now()
    const context = { acceptedAt, eventTtlMs: this.c.eventTtlMs }
    const seen = new Set<string>()
    const kept: EnrichedEvent[] = []
    const keptIndex: number[] = []
    events.forEach((event, index) => {
      const id = eventIdentity(event)
      // The same event twice in one accept: the second is a duplicate.
      if (seen.has(id)) return
      seen.add(id)
      kept.push(event)
      keptIndex.push(index)
    })
    const fresh = new Array<boolean>(events.length).fill(false)
    const TableName = this.c.tables.events
    await inParallel(requestItems(kept, context), FAN_OUT, async ({ item, indexes }) => {
      try {
        await this.c.doc.send(
          new PutCommand({
            TableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        for (const i of indexes) fresh[keptIndex[i] as number] = true
      } catch (error) {
        if (!isConditionFailure(error)) throw storageFault('PutItem(accept)', error)
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
