import type { DynamoDBRecord } from 'aws-lambda'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DIMENSIONS, SESSION_DIMENSIONS } from '../../core/rollup-deltas.ts'
import { createLogger } from '../../log/logger.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import { entriesOfStreamRecords } from '../../storage/dynamodb/stream-records.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { countsOf, rollupScenario, scenarioClients } from '../../testing/rollup-scenario.ts'
import { createRollupHandler } from './rollup-handler.ts'
import { lambdaRecordOf, StreamPoller } from './stream-poller.ts'

const logger = createLogger('silent')
const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const { events, bots } = rollupScenario()
const clients = scenarioClients(events)

type Counts = Awaited<ReturnType<typeof countsOf>>
/** Counts with the visitors credited by session (its dimensions, its hour) left out. */
function withoutVisitorCredit(counts: Counts) {
  const credited = new Set<string>([...SESSION_DIMENSIONS, 'entry_page'])
  return {
    ...counts,
    days: counts.days.map((rows) =>
      rows.map((r) => (credited.has(r.dim) ? { ...r, visitors: 0 } : r)),
    ),
    hours: counts.hours.map((r) => ({ ...r, visitors: 0 })),
  }
}

/** The same events through the SQLite store, both stages at once: the numbers to match. */
const expected = sqliteCounts(site, events, bots)

describe('the roll-up handler on DynamoDB Local', () => {
  let local: LocalTables
  let records: DynamoDBRecord[]
  beforeEach(async () => {
    local = await localTables()
    const store = local.store()
    await store.createSite(site)
    // Accepted in requests of up to 20 items, as trackers send them.
    for (let i = 0; i < events.length; i += 20) {
      await store.accept(events.slice(i, i + 20), i === 0 ? bots : [])
    }
    const { stream } = local.backlog()
    const arn = await stream.sourceArn()
    records = []
    for (const shard of await stream.shards()) {
      for await (const page of stream.records(shard)) {
        records.push(...page.map((r) => lambdaRecordOf(r, arn, 'ap-northeast-2')))
      }
    }
  })
  afterEach(async () => {
    await local.drop()
  })

  const batches = (from: DynamoDBRecord[], size: number) => {
    const out: DynamoDBRecord[][] = []
    for (let i = 0; i < from.length; i += size) out.push(from.slice(i, i + size))
    return out
  }

  it('counts what SQLite counts, batch by batch', async () => {
    // A record per request of events (more where a request's events spread past
    // REQUEST_SPAN_MS, as the scenario's hour-long requests do), one per bot hit; an entry
    // per event.
    expect(records.length).toBeGreaterThan(Math.ceil(events.length / 20) + bots.length)
    expect(entriesOfStreamRecords(records).length).toBe(events.length + bots.length)
    const store = local.store()
    const handler = createRollupHandler(store, orderedRollupOptions(), logger)
    for (const batch of batches(records, 25)) {
      expect(await handler({ Records: batch })).toEqual({ batchItemFailures: [] })
    }
    const counts = await countsOf(store, clients)
    expect(counts.days[0]?.[0]).toMatchObject({ bots: bots.length })
    // The scenario gives each newer dimension several values, so the equality below covers them.
    const valuesOf = (dim: string) =>
      new Set(counts.days.flat().flatMap((r) => (r.dim === dim ? [r.value] : [])))
    expect(valuesOf('hostname')).toEqual(
      new Set(['example.com', 'docs.example.com', 'www.example.com']),
    )
    expect(valuesOf('utm_term')).toEqual(new Set(['term-0', 'term-1']))
    expect(valuesOf('utm_content')).toEqual(new Set(['hero']))
    expect(valuesOf('screen')).toEqual(new Set(['mobile', 'tablet', 'laptop', 'desktop']))
    expect(counts).toEqual(await expected)
  })

  it('counts a batch once when it is delivered again, whole, split, and an hour later', async () => {
    const handler = createRollupHandler(local.store(), orderedRollupOptions(), logger)
    for (const batch of batches(records, 40)) await handler({ Records: batch })
    const once = await countsOf(local.store(), clients)
    // Delivered again whole, then bisected, then the halves' halves an hour later.
    for (const batch of batches(records, 40)) await handler({ Records: batch })
    for (const batch of batches(records, 20)) await handler({ Records: batch })
    const later = local.store({ now: () => Date.now() + 3_600_000 })
    const lateHandler = createRollupHandler(later, orderedRollupOptions(), logger)
    for (const batch of batches(records, 10)) await lateHandler({ Records: batch })
    expect(await countsOf(later, clients)).toEqual(once)
    expect(once).toEqual(await expected)
  })

  it('counts once when a write fails after its first chunk and the batch comes back split', async () => {
    let fail = true
    // Units of more than ten writes become plans applied in chunks of nine.
    const store = local.store({
      failRollupWrite: () => (fail ? ((fail = false), true) : false),
    })
    const handler = createRollupHandler(store, orderedRollupOptions(), logger)
    // The invocation dies part-way through its write (a timeout, a crash): its plan stays open.
    await expect(
      rollUpBatch(store, entriesOfStreamRecords(records), orderedRollupOptions()),
    ).rejects.toThrow(/injected fault/)
    // Bisected after the failure: the second half first, as another shard's batch might
    // arrive; the open plan is finished before anything is read.
    const half = Math.ceil(records.length / 2)
    await handler({ Records: records.slice(half) })
    await handler({ Records: records.slice(0, half) })
    expect(await countsOf(store, clients)).toEqual(await expected)
  })

  it('finishes a plan as its writer cut it, whatever the finishing process would cut', async () => {
    let fail = true
    // Left open by a process that applies chunks of nine; finished by one that would take 99.
    const writer = local.store({
      failRollupWrite: () => (fail ? ((fail = false), true) : false),
    })
    await expect(
      rollUpBatch(writer, entriesOfStreamRecords(records), orderedRollupOptions()),
    ).rejects.toThrow(/injected fault/)
    const finisher = local.store()
    await createRollupHandler(finisher, orderedRollupOptions(), logger)({ Records: records })
    expect(await countsOf(finisher, clients)).toEqual(await expected)
  })

  it('counts once when two shards roll up at the same time', async () => {
    // Records split over two simulated shards by tracker session, each in order, their
    // batches at once (a site's requests share a partition key, so on AWS they share a shard
    // but across a split: this is the harder case); the visitor in two tabs lands on both.
    // Each tracker session's events are sent as requests of their own here.
    await local.drop()
    local = await localTables()
    await local.store().createSite(site)
    const bySession = new Map<string, typeof events>()
    for (const e of events)
      bySession.set(e.client_session_id, [...(bySession.get(e.client_session_id) ?? []), e])
    for (const [i, own] of [...bySession.values()].entries()) {
      for (let j = 0; j < own.length; j += 20) {
        await local.store().accept(own.slice(j, j + 20), i === 0 && j === 0 ? bots : [])
      }
    }
    const partition = (r: DynamoDBRecord) => entriesOfStreamRecords([r])[0]?.origin?.partition ?? ''
    const shardOf = (r: DynamoDBRecord) => partition(r).charCodeAt(partition(r).length - 1) % 2
    const all = await local.streamRecords()
    const shards = [0, 1].map((n) => all.filter((r) => shardOf(r) === n))
    expect(shards.map((s) => s.some((r) => partition(r).includes('two-tabs')))).toEqual([
      true,
      true,
    ])
    await Promise.all(
      shards.map(async (shard) => {
        // Each shard's own process: its own store and handler, as two Lambda containers.
        const handler = createRollupHandler(local.store(), orderedRollupOptions(), logger)
        for (const batch of batches(shard, 7)) {
          expect(await handler({ Records: batch })).toEqual({ batchItemFailures: [] })
        }
      }),
    )
    const counts = await countsOf(local.store(), clients)
    // Which session of a visitor is counted first decides which session's source, entry page
    // or hour gets the visitor-day; shards counting at once may take a later session first
    // (README.md in storage/dynamodb). Everything else is exact, and each of those tables
    // still adds up to the site's visitors, counted once.
    expect(withoutVisitorCredit(counts)).toEqual(withoutVisitorCredit(await expected))
    const siteVisitors = counts.days[0]?.[0]?.visitors
    expect(siteVisitors).toBe((await expected).days[0]?.[0]?.visitors)
    for (const dim of ['source', 'channel', 'device', 'country', 'entry_page']) {
      const rows = counts.days[['', ...DIMENSIONS].indexOf(dim)] ?? []
      expect(
        rows.reduce((sum, r) => sum + r.visitors, 0),
        dim,
      ).toBe(siteVisitors)
    }
  })

  it('is fed by the local poller as the event source mapping feeds it', async () => {
    const store = local.store()
    expect(await store.backlog()).toBe(entriesOfStreamRecords(records).length)
    const handler = () => createRollupHandler(store, orderedRollupOptions(), logger)
    const poller = new StreamPoller(local.backlog(), store, handler(), logger, { batchSize: 30 })
    await poller.settle()
    expect(await store.backlog()).toBe(0)
    expect(await store.oldestPendingAcceptedAt()).toBeNull()
    expect(await countsOf(store, clients)).toEqual(await expected)
    // A restarted poller starts after what was delivered.
    const again = new StreamPoller(local.backlog(), store, handler(), logger)
    expect(await again.poll()).toBe(0)
  })
})
