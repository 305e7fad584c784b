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

/** Parallel PutItems of one accept: one per request (several only in a group commit). */
const FAN_OUT = 16

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0)
}

/** The accept stage's side: raw events and bot hits into the Events table, and the salts. */
export class DynamoDbIntake implements Intake {
  constructor(private readonly c: StoreContext) {}

  /**
   * One conditional PutItem per collector request, its events packed into one item
   * (request-items.ts; an accept holding several requests of a group commit, `requests`,
   * writes one per request, side by side), and a BatchWriteItem for the bot hits: no
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
  async accept(
    events: readonly EnrichedEvent[],
    bots: readonly BotHit[],
    requests: readonly number[] = [events.length],
  ): Promise<Accepted> {
    const acceptedAt = this.c.now()
    const context = { acceptedAt, eventTtlMs: this.c.eventTtlMs }
    const seen = new Set<string>()
    // Each request's new events, and where they are in `events`: an item per request (per
    // site of it), so a request's key is its own whatever it was committed with.
    const byRequest: Array<{ events: EnrichedEvent[]; at: number[] }> = []
    let start = 0
    for (const size of [...requests, Math.max(0, events.length - sum(requests))]) {
      const own = { events: [] as EnrichedEvent[], at: [] as number[] }
      for (let index = start; index < Math.min(events.length, start + size); index++) {
        const event = events[index] as EnrichedEvent
        const id = eventIdentity(event)
        // The same event twice in one accept: the second is a duplicate.
        if (seen.has(id)) continue
        seen.add(id)
        own.events.push(event)
        own.at.push(index)
      }
      start += size
      if (own.events.length > 0) byRequest.push(own)
    }
    const items = byRequest.flatMap((own) =>
      requestItems(own.events, context).map(({ item, indexes }) => ({
        item,
        indexes: indexes.map((i) => own.at[i] as number),
      })),
    )
    const fresh = new Array<boolean>(events.length).fill(false)
    const TableName = this.c.tables.events
    await inParallel(items, FAN_OUT, async ({ item, indexes }) => {
      try {
        await this.c.doc.send(
          new PutCommand({
            TableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        for (const i of indexes) fresh[i] = true
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
