import { PutCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb'
import type { DynamoDBRecord } from 'aws-lambda'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../../core/types.ts'
import { createLogger } from '../../log/logger.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import { entriesOfStreamRecords } from '../../storage/dynamodb/stream-records.ts'
import type { RollupQueue } from '../../storage/store.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient } from '../../testing/dynamodb-faults.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { countsOf, scenarioClients } from '../../testing/rollup-scenario.ts'
import { replayKept } from './replay-kept.ts'
import { createRollupHandler } from './rollup-handler.ts'

/**
 * Deliveries AWS documents for a DynamoDB stream's event source mapping that the roll-up once
 * miscounted, each held to the SQLite store's numbers for the same events. Faults DynamoDB
 * Local cannot produce (throttling) are injected with aws-sdk-client-mock into a document
 * client whose every other call goes to DynamoDB Local.
 */
const logger = createLogger('silent')
const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 10)
const NO_WAIT = { retries: 5, minTimeout: 1, maxTimeout: 5 }

describe('the roll-up under deliveries it once miscounted', () => {
  let local: LocalTables
  beforeEach(async () => {
    local = await localTables()
    await local.store().createSite(site)
  })
  afterEach(async () => {
    await local.drop()
  })

  /** Accepts the events and reads their stream records back as Lambda hands them over. */
  async function recordsOf(events: EnrichedEvent[]): Promise<DynamoDBRecord[]> {
    await local.store().accept(events, [])
    return local.streamRecords()
  }

  const interceptable = () => forwardingDocClient(local)

  it('counts a visitor once when two of their events share a millisecond in two units', async () => {
    // A track() and a page view in one tick, and the same moment from a second tab: the
    // visitor's marks are claimed by the first unit, and the others must find them taken.
    const visitor = { visitor_id: 'v-same-ms', timestamp: T0 }
    const events = [
      enrichedEvent({ ...visitor, event_id: 'e1', client_session_id: 'tab-1', path: '/a' }),
      enrichedEvent({
        ...visitor,
        event_id: 'e2',
        client_session_id: 'tab-1',
        event_type: 'signup',
      }),
      enrichedEvent({ ...visitor, event_id: 'e3', client_session_id: 'tab-2', path: '/a' }),
    ]
    // Each its own request: a record each.
    for (const event of events) await local.store().accept([event], [])
    const records = await local.streamRecords()
    const handler = createRollupHandler(local.store(), orderedRollupOptions(), logger)
    // One unit per record: each finds the marks the one before it claimed.
    for (const record of records) {
      expect(await handler({ Records: [record] })).toEqual({ batchItemFailures: [] })
    }
    const counts = await countsOf(local.store(), scenarioClients(events))
    expect(counts.days[0]?.[0]?.visitors).toBe(1)
    expect(counts).toEqual(await sqliteCounts(site, events))
  })

  it('finishes a copy of sessions a failure cut short, in the next process that meets the site', async () => {
    const events = ['a', 'b', 'c', 'd'].map((client, i) =>
      enrichedEvent({ client_session_id: client, event_id: `e${i}`, timestamp: T0 + i * 1000 }),
    )
    const records = await recordsOf(events)
    // The unit's window is stored, then its sessions' copy fails half-way.
    let fail = true
    const writer = local.store({
      failRollupWrite: () => (fail ? ((fail = false), true) : false),
    })
    await expect(
      rollUpBatch(writer, entriesOfStreamRecords(records), orderedRollupOptions()),
    ).rejects.toThrow(/injected fault/)
    // Delivered again to two other processes at once: nothing is left to count, and both
    // copy what the first left out, from the site's mark; the copies agree.
    const handlers = [0, 1].map(() =>
      createRollupHandler(local.store(), orderedRollupOptions(), logger),
    )
    const answers = await Promise.all(handlers.map((handler) => handler({ Records: records })))
    expect(answers).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }])
    expect(await countsOf(local.store(), scenarioClients(events))).toEqual(
      await sqliteCounts(site, events),
    )
  })

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException'] as const)(
    'retries a window refused with %s instead of failing the batch',
    async (name) => {
      const events = ['a', 'b'].map((client, i) =>
        enrichedEvent({ client_session_id: client, event_id: `e${i}`, timestamp: T0 + i * 1000 }),
      )
      const records = await recordsOf(events)
      const { doc, mock } = interceptable()
      let refusals = 0
      mock.on(PutCommand).callsFake((input: PutCommandInput) => {
        if (String(input.Item?.pk).startsWith('fold#') && refusals < 2) {
          refusals++
          throw Object.assign(new Error(name), { name, $fault: 'client', $metadata: {} })
        }
        return local.clients.doc.send(new PutCommand(input))
      })
      const handler = createRollupHandler(
        local.store({ doc, backoff: NO_WAIT }),
        orderedRollupOptions(),
        logger,
        { retry: NO_WAIT },
      )
      // Answered within the invocation: nothing is reported failed, so the mapping's retries
      // (and its on-failure destination) are kept for records that really cannot be counted.
      expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] })
      expect(refusals).toBe(2)
      mock.restore()
      expect(await countsOf(local.store(), scenarioClients(events))).toEqual(
        await sqliteCounts(site, events),
      )
    },
  )

  it('sets an event that cannot be counted aside whole, counts the rest of its request, and says so', async () => {
    const good = ['a', 'c'].map((client, i) =>
      enrichedEvent({ client_session_id: client, event_id: `e${i}`, timestamp: T0 + i * 1000 }),
    )
    // A time zone no calendar knows: counting it throws, however often it is tried.
    const poison = enrichedEvent({
      client_session_id: 'b',
      event_id: 'bad',
      timestamp: T0 + 500,
      timezone: 'Mars/Olympus_Mons',
    })
    const records = await recordsOf([good[0], poison, good[1]] as EnrichedEvent[])
    const store = local.store()
    const handler = createRollupHandler(store, orderedRollupOptions(), logger, { retry: NO_WAIT })
    // Found and set aside in the invocation: the shard does not wait on the mapping's retries.
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] })
    expect(await store.setAside()).toEqual({ items: 1, since: T0 + 500 })
    expect(await countsOf(store, scenarioClients(good))).toEqual(await sqliteCounts(site, good))
    // Delivered again, it is set aside again but counted as one item.
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] })
    expect(await store.setAside()).toEqual({ items: 1, since: T0 + 500 })
  })

  it('replays a record kept aside while later events of its session were counted, once', async () => {
    // One tracker session's three page views and another visitor's; the second view fails
    // the roll-up on its own until whatever made it fail is fixed.
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
    ]
    const records = await recordsOf(events)
    const store = local.store()
    let broken = true
    const failingOnB: RollupQueue = {
      ...store,
      rollup: (work) =>
        store.rollup((unit) =>
          work({
            ...unit,
            uncounted: async (entries) => {
              const bad = entries.some(
                (e) => e.item.kind === 'event' && e.item.event.event_id === 'b',
              )
              if (broken && bad) throw new Error('cannot count b (yet)')
              return unit.uncounted(entries)
            },
          }),
        ),
    }
    const handler = createRollupHandler(failingOnB, orderedRollupOptions(), logger, {
      retry: NO_WAIT,
    })
    // One request, one record: b is set aside, c (later in the same session) is counted
    // after it.
    for (const record of records) {
      expect(await handler({ Records: [record] })).toEqual({ batchItemFailures: [] })
    }
    expect(await store.setAside()).toEqual({ items: 1, since: T0 + 2 * 60_000 })
    const target = { doc: local.clients.doc, tables: local.tables, store }
    const dry = await replayKept(target, {
      ...orderedRollupOptions(),
      now: T0 + 3_600_000,
      dryRun: true,
    })
    expect(dry).toMatchObject({ kept: 1, replayed: 0, still_kept: { items: 1 } })
    // Past what the ledgers remember, a replay could count it twice: it is left alone.
    const late = await replayKept(target, {
      ...orderedRollupOptions(),
      now: T0 + 100 * 3_600_000,
      dryRun: true,
    })
    expect(late).toMatchObject({ kept: 1, not_replayable: 1 })

    broken = false
    const replayed = await replayKept(target, {
      ...orderedRollupOptions(),
      now: T0 + 3_600_000,
      dryRun: false,
    })
    expect(replayed).toMatchObject({ kept: 1, replayed: 1, failed: 0, still_kept: null })
    expect(await store.setAside()).toBeNull()
    expect(await countsOf(store, scenarioClients(events))).toEqual(await sqliteCounts(site, events))
    // Run again, and with the whole stream delivered again: nothing more is counted.
    expect(
      await replayKept(target, { ...orderedRollupOptions(), now: T0 + 3_600_000, dryRun: false }),
    ).toMatchObject({ kept: 0, replayed: 0 })
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] })
    expect(await countsOf(store, scenarioClients(events))).toEqual(await sqliteCounts(site, events))
  })
})
