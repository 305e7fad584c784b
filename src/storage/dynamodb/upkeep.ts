import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { hourBucket } from '../../core/calendar.ts'
import type { SiteDirectory, StorageHealth, SweepPolicy, SweepResult } from '../store.ts'
import { call } from './faults.ts'
import { eventsForgottenBefore } from './forgotten-events.ts'
import { requestPartition, STATE, timeKey } from './keys.ts'
import type { PulledStream } from './pulled-stream.ts'
import { isConditionFailure, type StoreContext } from './requests.ts'
import { DAY_MS, HOURLY_DIMENSION_KEEP_HOURS, MARK_KEEP_DAYS } from './retention.ts'

function utcDay(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(0, 10)
}

/** The sweep, and the read `/health` makes. */
export class DynamoDbUpkeep implements Pick<StorageHealth, 'health'> {
  constructor(
    private readonly c: StoreContext,
    private readonly sites: Pick<SiteDirectory, 'listSites'>,
    private readonly pulled: PulledStream,
  ) {}

  async sweep(policy: SweepPolicy): Promise<SweepResult> {
    const keepDaysFrom = utcDay(policy.now - MARK_KEEP_DAYS * DAY_MS)
    const hourCutoff = hourBucket(policy.now) - HOURLY_DIMENSION_KEEP_HOURS
    await this.raiseMark('hourly_from', hourCutoff)
    // An event still waiting on the stream is kept until it is rolled up (where this process
    // reads the stream; on Lambda the record's own new image is what the roll-up reads).
    const oldestQueued = (await this.pulled.oldestPendingEventAt()) ?? Number.POSITIVE_INFINITY
    const cutoff = Math.min(policy.now - policy.eventTtlMs, oldestQueued)
    const events = await this.forgetEventsBefore(cutoff)
    // Salts go on schedule, not by TTL (which may lag by days): the privacy promise.
    const salts = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk < :from',
      ExpressionAttributeValues: { ':pk': STATE.saltsPk, ':from': keepDaysFrom },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    })
    await this.c.requests.batchDelete(
      this.c.tables.state,
      salts.map((item) => ({ pk: item.pk, sk: item.sk })),
    )
    // Marks and hourly dimension rows expire by TTL (free); their readers never need them
    // after that, as the collector refuses events older than a day.
    return { events, marks: 0, hourly_dimension_rows: 0, salts: salts.length }
  }

  /**
   * Raw events before `cutoff` are forgotten by moving a mark, not deleted one by one: reads
   * skip events older than the mark (SessionReads.sessionEvents; the live view reads only the
   * last half hour), and DynamoDB's TTL deletes the items for free a day after they arrived
   * (request-items.ts), within days of that as AWS promises
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html). A delete
   * each would bill as much as storing the request. The number reported is the events of the
   * requests the mark passed whole (their latest event before it), summed from their `n`: each
   * request is counted once, when the mark first passes its latest event.
   */
  private async forgetEventsBefore(cutoff: number): Promise<number> {
    const from = await eventsForgottenBefore(this.c)
    if (cutoff <= from) return 0
    let events = 0
    for (const site of await this.sites.listSites()) {
      let ExclusiveStartKey: Record<string, unknown> | undefined
      do {
        const page = await this.c.requests.query('Query(requests)', {
          TableName: this.c.tables.events,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': requestPartition(site.id),
            ':from': timeKey(from),
            ':to': timeKey(cutoff - 1) + '#\uffff',
          },
          ProjectionExpression: 'n',
          ExclusiveStartKey,
        })
        for (const item of page.Items ?? []) events += Number(item.n ?? 0)
        ExclusiveStartKey = page.LastEvaluatedKey
      } while (ExclusiveStartKey)
    }
    await this.raiseMark('events_from', cutoff)
    return events
  }

  /**
   * Moves one of the sweep's marks forward, never back: two sweeps at once (a slow one and the
   * next) leave the later mark.
   */
  private async raiseMark(attribute: 'hourly_from' | 'events_from', value: number): Promise<void> {
    await call('UpdateItem(sweep)', () =>
      this.c.doc
        .send(
          new UpdateCommand({
            TableName: this.c.tables.state,
            Key: { pk: STATE.sweepPk, sk: STATE.one },
            UpdateExpression: 'SET #m = :v',
            ConditionExpression: 'attribute_not_exists(#m) OR #m < :v',
            ExpressionAttributeNames: { '#m': attribute },
            ExpressionAttributeValues: { ':v': value },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error
        }),
    )
  }

  async health(): Promise<void> {
    await this.c.requests.getItem(this.c.tables.state, { pk: STATE.sweepPk, sk: STATE.one })
  }
}
