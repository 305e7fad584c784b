import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DynamoDBRecord } from 'aws-lambda'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../../core/types.ts'
import { createLogger } from '../../log/logger.ts'
import { entriesOfStreamRecords } from '../../storage/dynamodb/stream-records.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions, sqliteCountsDelivered } from '../../testing/rollup-reference.ts'
import { countsOf, scenarioClients } from '../../testing/rollup-scenario.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { recordsOfInvocationRecord, replayFailedBatches } from './replay-failed-batches.ts'
import { createRollupHandler } from './rollup-handler.ts'

/**
 * Batches the event source mapping gave up on reach the S3 failures bucket whole (an
 * invocation record with the payload Lambda sent); `replay:aws --from` counts them once,
 * against DynamoDB Local, held to the SQLite store's numbers for the same events.
 */
const logger = createLogger('silent')
const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 10)

/** An invocation record as the S3 destination writes it: metadata and the whole payload. */
function invocationRecord(records: DynamoDBRecord[]): unknown {
  return {
    requestContext: {
      requestId: 'c9b8fa9f-5a7f-4a3b-9c56-1d7f1f2a0b11',
      functionArn: 'arn:aws:lambda:ap-northeast-2:123456789012:function:liveinsight-rollup',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date(T0 + 3_600_000).toISOString(),
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001736000000000-0000aaaa',
      startSequenceNumber: records[0]?.dynamodb?.SequenceNumber,
      endSequenceNumber: records.at(-1)?.dynamodb?.SequenceNumber,
      batchSize: records.length,
    },
    payload: JSON.stringify({ Records: records }),
  }
}

describe('replaying the batches kept in the failures bucket', () => {
  let local: LocalTables
  let dir: string
  let removeDir: () => void
  beforeEach(async () => {
    local = await localTables()
    await local.store().createSite(site)
    ;({ path: dir, remove: removeDir } = tempDir('failed-batches-'))
  })
  afterEach(async () => {
    await local.drop()
    removeDir()
  })

  /** Each event its own request: a stream record each. */
  async function recordsOf(events: EnrichedEvent[]): Promise<DynamoDBRecord[]> {
    for (const event of events) await local.store().accept([event], [])
    return local.streamRecords()
  }

  it('reads the records from the payload, as an object, as JSON text or at the top', () => {
    const Records = [{ eventName: 'INSERT' }]
    expect(recordsOfInvocationRecord({ payload: { Records } })).toEqual(Records)
    expect(recordsOfInvocationRecord({ payload: JSON.stringify({ Records }) })).toEqual(Records)
    expect(recordsOfInvocationRecord({ Records })).toEqual(Records)
    expect(recordsOfInvocationRecord({ DDBStreamBatchInfo: { batchSize: 1 } })).toBeUndefined()
    expect(recordsOfInvocationRecord('not json')).toBeUndefined()
  })

  it('counts a discarded batch once, though later events of its sessions were counted meanwhile', async () => {
    const view = (id: string, minute: number, client: string, visitor: string) =>
      enrichedEvent({
        event_id: id,
        timestamp: T0 + minute * 60_000,
        client_session_id: client,
        visitor_id: visitor,
        path: `/${id}`,
      })
    const events = [
      view('a', 0, 'c1', 'v1'),
      view('b', 2, 'c1', 'v1'),
      view('c', 4, 'c1', 'v1'),
      view('d', 3, 'c2', 'v2'),
      view('e', 5, 'c2', 'v2'),
    ]
    const records = await recordsOf(events)
    const byId = (id: string) =>
      records.find((r) => {
        const [entry] = entriesOfStreamRecords([r])
        return entry?.item.kind === 'event' && entry.item.event.event_id === id
      }) as DynamoDBRecord
    const store = local.store()
    const handler = createRollupHandler(store, orderedRollupOptions(), logger)
    // The mapping gave up on [b, d] (say the function kept timing out) and wrote it to the
    // bucket; a, c and e were counted in other batches.
    const discarded = [byId('b'), byId('d')]
    for (const id of ['a', 'c', 'e']) {
      expect(await handler({ Records: [byId(id)] })).toEqual({ batchItemFailures: [] })
    }
    mkdirSync(join(dir, '2026', '01', '15'), { recursive: true })
    writeFileSync(
      join(dir, '2026', '01', '15', 'batch-1.json'),
      JSON.stringify(invocationRecord(discarded)),
    )
    writeFileSync(join(dir, 'README.txt'), 'not an invocation record')
    const options = { ...orderedRollupOptions(), now: T0 + 3_600_000 }

    const dry = await replayFailedBatches(store, dir, { ...options, dryRun: true })
    expect(dry).toMatchObject({ files: 1, records: 2, replayed: 0 })
    expect(dry.unreadable_files).toEqual([join(dir, 'README.txt')])
    // Past what the ledgers remember a replay could count twice: left alone.
    const late = await replayFailedBatches(store, dir, {
      ...options,
      now: T0 + 100 * 3_600_000,
      dryRun: false,
    })
    expect(late).toMatchObject({ records: 2, replayed: 0, not_replayable: 2 })

    const replayed = await replayFailedBatches(store, dir, { ...options, dryRun: false })
    expect(replayed).toMatchObject({ files: 1, records: 2, replayed: 2, already_counted: 0 })
    // The embedded store's answer for the same arrivals: d, older than e, arrives after it.
    const [a, b, c, d, e] = events as [
      EnrichedEvent,
      EnrichedEvent,
      EnrichedEvent,
      EnrichedEvent,
      EnrichedEvent,
    ]
    const reference = await sqliteCountsDelivered(site, [[a], [c], [e], [b, d]])
    expect(await countsOf(store, scenarioClients(events))).toEqual(reference)
    // Replayed again, and the whole stream delivered again: nothing more is counted.
    expect(await replayFailedBatches(store, dir, { ...options, dryRun: false })).toMatchObject({
      replayed: 0,
      already_counted: 2,
    })
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] })
    expect(await countsOf(store, scenarioClients(events))).toEqual(reference)
  })
})
