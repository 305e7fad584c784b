import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { COUNTER_NAMES, type EnrichedEvent, type SessionState } from '../../core/types.ts'
import { MAX_RECORD_EVENTS } from '../../record/session-events.ts'
import type { RecordEvent } from '../../record/session-record.ts'
import { batchWriteAll } from '../../storage/dynamodb/batch-write.ts'
import { versionBump } from '../../storage/dynamodb/counter-writes.ts'
import { call } from '../../storage/dynamodb/faults.ts'
import { eventItem, type Item, sessionItem } from '../../storage/dynamodb/items.ts'
import { STATE, statsPartition, statsSortKey } from '../../storage/dynamodb/keys.ts'
import { packRecordEvents } from '../../storage/dynamodb/record.ts'
import { Requests } from '../../storage/dynamodb/requests.ts'
import { hourlyRowExpiry } from '../../storage/dynamodb/retention.ts'
import type { TableNames } from '../../storage/dynamodb/tables.ts'
import type { RollupRow } from '../../storage/store.ts'

export interface DynamoDbBulkPutsOptions {
  doc: DynamoDBDocumentClient
  tables: TableNames
  /** How long the imported raw events are kept (their TTL), as the store keeps its own. */
  eventTtlMs: number
}

/**
 * What `move:aws` writes into the DynamoDB tables as it is, beside the store's own writes
 * (move-to-dynamodb.ts): counter rows, sessions, raw events and salts moved in from the
 * embedded shape, each item as the store itself would keep it (items.ts, keys.ts).
 */
export class DynamoDbBulkPuts {
  private readonly requests: Requests

  constructor(private readonly options: DynamoDbBulkPutsOptions) {
    this.requests = new Requests(options.doc)
  }

  /**
   * Stores counter rows as they are (Put, not ADD): moving the same rows twice leaves them
   * as once. For a site that has no counters of its own here yet.
   */
  async putCounterRows(siteId: string, grain: 'hour' | 'day', rows: readonly RollupRow[]) {
    const requests = rows.map((row) => {
      const item: Item = {
        pk: statsPartition(siteId, grain, row.dim),
        sk: statsSortKey(row.bucket, row.value),
        b: row.bucket,
        v: row.value,
      }
      for (const name of COUNTER_NAMES) if (row[name] !== 0) item[name] = row[name]
      if (grain === 'hour' && row.dim !== '') item.expires_at = hourlyRowExpiry(row.bucket)
      return { PutRequest: { Item: item } }
    })
    await batchWriteAll(this.options.doc, this.options.tables.stats, requests)
  }

  /** Sessions as they are, with their record's events where `events` is given (not null). */
  async putSessions(
    sessions: ReadonlyArray<SessionState & { events?: RecordEvent[] | null }>,
  ): Promise<void> {
    const requests = sessions.map(({ events, ...s }) => ({
      PutRequest: {
        Item: sessionItem(
          s,
          events ? packRecordEvents(s.start_time, events.slice(0, MAX_RECORD_EVENTS)) : undefined,
        ),
      },
    }))
    await batchWriteAll(this.options.doc, this.options.tables.sessions, requests)
  }

  /** A site's record item (record.ts): since when it holds events, its longest session. */
  async putRecordSite(siteId: string, site: { since: number | null; longest: number }) {
    await this.requests.put('PutItem(record)', {
      TableName: this.options.tables.state,
      Item: {
        pk: STATE.record(siteId),
        sk: STATE.one,
        ...(site.since !== null ? { since: site.since } : {}),
        longest: site.longest,
      },
    })
  }

  /**
   * After a site's sessions are moved in: its packed days (record-packs.ts) no longer hold
   * what the Sessions table does, so the reader stops using them (`packed_to` removed) and
   * the packer packs every day again from the first, over the same keys.
   */
  async unpackRecord(siteId: string): Promise<void> {
    await this.requests.update('UpdateItem(record)', {
      TableName: this.options.tables.state,
      Key: { pk: STATE.record(siteId), sk: STATE.one },
      // Its unpacked days changed too: readers that keep them drop them (late-writes.ts).
      UpdateExpression: 'REMOVE packed_to ADD late_gen :one SET late_at = :now',
      ExpressionAttributeValues: { ':one': 1, ':now': Date.now() },
    })
  }

  /** Raw events for timelines and the live view, marked imported: the stream's roll-up skips them. */
  async putImportedEvents(events: readonly EnrichedEvent[]): Promise<void> {
    const context = {
      acceptedAt: Date.now(),
      eventTtlMs: this.options.eventTtlMs,
      imported: true,
    }
    const requests = events.map((e) => ({ PutRequest: { Item: eventItem(e, context) } }))
    await batchWriteAll(this.options.doc, this.options.tables.events, requests)
  }

  /** A day's salt as another store drew it, so visitor ids of that day stay the same. */
  async putSalt(day: string, salt: string): Promise<void> {
    await this.requests.put('PutItem(salt)', {
      TableName: this.options.tables.state,
      Item: { pk: STATE.saltsPk, sk: day, salt },
    })
  }

  /** Marks the site's counters changed, so no cached answer from before the move is served. */
  async bumpCountersVersion(siteId: string): Promise<void> {
    await call('UpdateItem(version)', () =>
      this.options.doc.send(new UpdateCommand(versionBump(this.options.tables.state, siteId))),
    )
  }
}
