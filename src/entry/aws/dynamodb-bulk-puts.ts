import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { EnrichedEvent, RollupDelta, SessionState } from '../../core/types.ts'
import { SiteFold } from '../../fold/site-fold.ts'
import { MAX_RECORD_EVENTS } from '../../record/session-events.ts'
import type { RecordEvent } from '../../record/session-record.ts'
import { batchWriteAll } from '../../storage/dynamodb/batch-write.ts'
import { SUMMARY, summaryItems } from '../../storage/dynamodb/counter-summaries.ts'
import { countersOf, rowKey } from '../../storage/dynamodb/delta-rows.ts'
import { FoldSegments } from '../../storage/dynamodb/fold-segments.ts'
import { sessionItem } from '../../storage/dynamodb/items.ts'
import { STATE } from '../../storage/dynamodb/keys.ts'
import { packRecordEvents } from '../../storage/dynamodb/record.ts'
import { importedItems } from '../../storage/dynamodb/request-items.ts'
import { Requests } from '../../storage/dynamodb/requests.ts'
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
  /** Counter rows taken in, per site and summary key, until they are stored. */
  private readonly summaries = new Map<string, Map<string, RollupDelta[]>>()

  constructor(private readonly options: DynamoDbBulkPutsOptions) {
    this.requests = new Requests(options.doc)
  }

  /**
   * Takes a site's counter rows in (any order, any number of calls); `putCounterSummaries`
   * stores them. Held in memory until then: a summary holds a whole day's rows.
   */
  addCounterRows(siteId: string, grain: 'hour' | 'day', rows: readonly RollupRow[]): void {
    let site = this.summaries.get(siteId)
    if (!site) {
      site = new Map()
      this.summaries.set(siteId, site)
    }
    for (const row of rows) {
      const key = rowKey(siteId, grain, row.bucket, row.dim, row.value)
      const counters = countersOf(row)
      const sk = SUMMARY.sk(key)
      const list = site.get(sk)
      if (list) list.push({ key, counters })
      else site.set(sk, [{ key, counters }])
    }
  }

  /**
   * Stores a site's counter rows as its counter summaries (counter-summaries.ts), as they
   * are: moving the same rows twice leaves them as once. They are in no window of the fold,
   * so each summary holds them below every window (`through` 0). For a site that has no
   * counters of its own here yet.
   */
  async putCounterSummaries(siteId: string): Promise<number> {
    const site = this.summaries.get(siteId) ?? new Map<string, RollupDelta[]>()
    this.summaries.delete(siteId)
    // A busy day's rows may take several items (summaryItems cuts them under 400 KB each).
    const requests = [...site].flatMap(([sk, deltas]) =>
      summaryItems(siteId, sk, deltas, 0).map((Item) => ({ PutRequest: { Item } })),
    )
    await batchWriteAll(this.options.doc, this.options.tables.state, requests)
    return requests.length
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

  /**
   * Raw events for timelines and the live view, packed into request items by tracker session
   * and marked imported: the stream's roll-up skips them.
   */
  async putImportedEvents(events: readonly EnrichedEvent[]): Promise<void> {
    const items = importedItems(events, Date.now(), this.options.eventTtlMs)
    const requests = items.map((Item) => ({ PutRequest: { Item } }))
    await batchWriteAll(this.options.doc, this.options.tables.events, requests)
  }

  /** A day's salt as another store drew it, so visitor ids of that day stay the same. */
  async putSalt(day: string, salt: string): Promise<void> {
    await this.requests.put('PutItem(salt)', {
      TableName: this.options.tables.state,
      Item: { pk: STATE.saltsPk, sk: day, salt },
    })
  }

  /**
   * Marks the site's counters changed, so no cached answer from before the move is served:
   * an empty window of the fold (its number is the counters' version), under the next free
   * number.
   */
  async bumpCountersVersion(siteId: string): Promise<void> {
    const windows = new FoldSegments({
      doc: this.options.doc,
      requests: this.requests,
      tables: this.options.tables,
      now: Date.now,
      eventTtlMs: this.options.eventTtlMs,
    })
    while (
      !(await windows.append(siteId, (await windows.last(siteId)) + 1, new SiteFold(siteId)))
    ) {}
  }
}
