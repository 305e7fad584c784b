import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { hourBucket } from '../../core/calendar.ts'
import type { SiteDirectory, StorageHealth, SweepPolicy, SweepResult } from '../store.ts'
import { call } from './faults.ts'
import { STATE, timeKey } from './keys.ts'
import type { PulledStream } from './pulled-stream.ts'
import { isConditionFailure, type StoreContext } from './requests.ts'
import { DAY_MS, HOURLY_DIMENSION_KEEP_HOURS, MARK_KEEP_DAYS } from './retention.ts'
import { INDEX } from './tables.ts'

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
    await call('UpdateItem(sweep)', () =>
      this.c.doc
        .send(
          new UpdateCommand({
            TableName: this.c.tables.state,
            Key: { pk: STATE.sweepPk, sk: STATE.one },
            UpdateExpression: 'SET hourly_from = :h',
            ConditionExpression: 'attribute_not_exists(hourly_from) OR hourly_from < :h',
            ExpressionAttributeValues: { ':h': hourCutoff },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error
        }),
    )
    // An event still waiting on the stream is kept until it is rolled up (where this process
    // reads the stream; on Lambda the record's own new image is what the roll-up reads).
    const oldestQueued = (await this.pulled.oldestPendingEventAt()) ?? Number.POSITIVE_INFINITY
    const cutoff = Math.min(policy.now - policy.eventTtlMs, oldestQueued)
    let events = 0
    for (const site of await this.sites.listSites()) {
      const expired = await this.c.requests.queryAll({
        TableName: this.c.tables.events,
        IndexName: INDEX.siteTime,
        KeyConditionExpression: 'site_id = :site AND sk < :cutoff',
        ExpressionAttributeValues: { ':site': site.id, ':cutoff': timeKey(cutoff) },
        ProjectionExpression: 'pk, sk',
      })
      await this.c.requests.batchDelete(
        this.c.tables.events,
        expired.map((item) => ({ pk: item.pk, sk: item.sk })),
      )
      events += expired.length
    }
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

  async health(): Promise<void> {
    await this.c.requests.getItem(this.c.tables.state, { pk: STATE.sweepPk, sk: STATE.one })
  }
}
