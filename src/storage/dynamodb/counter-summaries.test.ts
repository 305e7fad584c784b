import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { ROW_DIMENSIONS } from '../../core/rollup-deltas.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { countingWriter, entriesOf } from '../../testing/fold-scenario.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { rollupScenario, SCENARIO_DAY } from '../../testing/rollup-scenario.ts'
import type { CounterReads, RollupRow } from '../store.ts'
import { CounterSummaries, SUMMARY, summaryItems, summaryOf } from './counter-summaries.ts'
import { FoldSegments } from './fold-segments.ts'
import { FoldedCounterReads } from './folded-counter-reads.ts'
import { Requests, type StoreContext } from './requests.ts'

const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)

let local: LocalTables
let c: StoreContext
beforeAll(async () => {
  local = await localTables()
  c = {
    doc: local.clients.doc,
    requests: new Requests(local.clients.doc),
    tables: local.tables,
    now: Date.now,
    eventTtlMs: 86_400_000,
  }
})
afterAll(async () => {
  await local.drop()
})

/** The day's rows of every dimension and the site's hours, as `countsOf` reads a Store. */
async function countersOf(reads: CounterReads, siteId: string) {
  const asScenario = (rows: RollupRow[]) => rows.map((row) => ({ ...row, site_id: 'site-a' }))
  const range = { site_id: siteId, from: SCENARIO_DAY, to: SCENARIO_DAY }
  const days = await Promise.all(
    ROW_DIMENSIONS.map(async (dim) =>
      asScenario(await reads.readRollups({ grain: 'day', dim, ...range })),
    ),
  )
  const hours = asScenario(
    await reads.readRollups({
      grain: 'hour',
      site_id: siteId,
      dim: '',
      from: hourBucket(T0) - 1,
      to: hourBucket(T0) + 12,
    }),
  )
  return { days, hours }
}

/** A site's stored summary items, parts included. */
async function summaryParts(siteId: string) {
  const items = await c.requests.queryAll({
    TableName: c.tables.state,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
    ExpressionAttributeValues: { ':pk': SUMMARY.pk(siteId), ':d': 'd#' },
  })
  return items
}

/** Day rows of `n` pages of one site. */
function pageDeltas(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: {
      grain: 'day' as const,
      site_id: 'x',
      bucket: '2026-01-15',
      dim: 'page',
      value: `/page-${i}-${'x'.repeat(i % 17)}`,
    },
    counters: {
      pageviews: i + 1,
      visitors: 1,
      sessions: 0,
      bounces: 0,
      duration_ms: 0,
      events: 0,
      bots: 0,
    },
  }))
}

let sites = 0
/** A scenario folded into windows of `batch` entries, as its own site. */
async function folded(seed: number, batch: number) {
  const id = `sums-${++sites}`
  const { events, bots } = rollupScenario(seed)
  const segments = new FoldSegments(c)
  const writer = countingWriter(segments, orderedRollupOptions(), () => T0 + 12 * 3_600_000)
  const entries = entriesOf(
    events.map((e) => ({ ...e, site_id: id })),
    bots.map((b) => ({ ...b, site_id: id })),
  )
  const expected = await sqliteCounts(site, events, bots)
  return {
    id,
    segments,
    expected: { days: expected.days, hours: expected.hours },
    async fold(from: number, to: number) {
      for (let i = from; i < Math.min(to, entries.length); i += batch) {
        await writer.count(entries.slice(i, Math.min(i + batch, to)))
      }
    },
    size: entries.length,
  }
}

describe('counter summaries', () => {
  it('read the same rows before, between and after summings, as the SQLite store counts', async () => {
    const s = await folded(5, 7)
    const summaries = new CounterSummaries(c, s.segments)
    const reads = new FoldedCounterReads(c, s.segments, summaries)
    const half = Math.floor(s.size / 2)
    await s.fold(0, half)
    // Summed halfway through, then more windows, then summed again in steps.
    expect(await summaries.sum(s.id)).toBeGreaterThan(0)
    await s.fold(half, s.size)
    expect(await countersOf(reads, s.id)).toEqual(s.expected)
    while ((await summaries.sum(s.id)) > 0) {}
    expect(await summaries.through(s.id)).toBe(await s.segments.last(s.id))
    expect(await countersOf(reads, s.id)).toEqual(s.expected)
  }, 60_000)

  it('count each window once for a reader that a summing overtakes between its requests', async () => {
    const s = await folded(9, 5)
    await s.fold(0, s.size)
    const summaries = new CounterSummaries(c, s.segments)
    // The reader reads `through` before the summing and the summaries after it.
    const racing = Object.create(summaries) as CounterSummaries
    racing.read = async (siteId, from, to) => {
      await summaries.sum(siteId)
      return summaries.read(siteId, from, to)
    }
    const reads = new FoldedCounterReads(c, s.segments, racing)
    expect(await countersOf(reads, s.id)).toEqual(s.expected)
  }, 60_000)

  it('cut a summary past the part size into parts, read and summed again as one', async () => {
    const s = await folded(21, 6)
    // Parts of 300 bytes: the scenario's day of rows takes several.
    const summaries = new CounterSummaries(c, s.segments, 300)
    const reads = new FoldedCounterReads(c, s.segments, summaries)
    const third = Math.floor(s.size / 3)
    await s.fold(0, third)
    while ((await summaries.sum(s.id)) > 0) {}
    const partsAfterFirst = await summaryParts(s.id)
    expect(partsAfterFirst.length).toBeGreaterThan(2)
    // More windows summed into the parts: a row stays in its part, or parts double.
    await s.fold(third, s.size)
    expect(await countersOf(reads, s.id)).toEqual(s.expected)
    while ((await summaries.sum(s.id)) > 0) {}
    expect(await summaries.through(s.id)).toBe(await s.segments.last(s.id))
    expect(await countersOf(reads, s.id)).toEqual(s.expected)
    const parts = await summaryParts(s.id)
    expect(parts.length).toBeGreaterThanOrEqual(partsAfterFirst.length)
    for (const part of parts) expect((part.z as Uint8Array).byteLength).toBeLessThanOrEqual(300)
    // Read with the default part size, the same parts give the same rows.
    const plain = new FoldedCounterReads(c, s.segments, new CounterSummaries(c, s.segments))
    expect(await countersOf(plain, s.id)).toEqual(s.expected)
  }, 60_000)

  it('read parts of one summary only when they are all of one summing', async () => {
    const siteId = `sums-parts-${++sites}`
    const deltas = pageDeltas(300)
    const items = summaryItems(siteId, 'd#2026-01-15', deltas, 4, 1, 900)
    expect(items.length).toBeGreaterThan(1)
    const put = (item: Record<string, unknown>) =>
      c.requests.put('PutItem(test)', { TableName: c.tables.state, Item: item })
    const summaries = new CounterSummaries(c, new FoldSegments(c))
    // A summing's parts half written over an older one's: one part of another `through`.
    for (const item of items) await put(item)
    await put({ ...(items[1] as Record<string, unknown>), through: 3 })
    await expect(summaries.read(siteId, 'd#2026-01-15', 'd#2026-01-15')).rejects.toThrow(
      /two summings/,
    )
    // A part missing is of another summing too.
    await c.requests.delete('DeleteItem(test)', {
      TableName: c.tables.state,
      Key: { pk: SUMMARY.pk(siteId), sk: items[1]?.sk },
    })
    await expect(summaries.read(siteId, 'd#2026-01-15', 'd#2026-01-15')).rejects.toThrow()
    await put(items[1] as Record<string, unknown>)
    const read = await summaries.read(siteId, 'd#2026-01-15', 'd#2026-01-15')
    expect(read.every((r) => r.sk === 'd#2026-01-15' && r.through === 4)).toBe(true)
    expect(read.flatMap((r) => r.deltas)).toHaveLength(deltas.length)
  })

  it('put each row in exactly one part, the same part while the part count stays', () => {
    const deltas = pageDeltas(400)
    const items = summaryItems('x', 'd#2026-01-15', deltas, 7, 1, 900)
    expect(items.length).toBeGreaterThan(1)
    expect(items.map((i) => i.sk)).toEqual(
      items.map((_, n) => (n === 0 ? 'd#2026-01-15' : `d#2026-01-15#${n}`)),
    )
    const read = items.flatMap((item) => summaryOf('x', item).deltas)
    expect(read.map((d) => d.key.value).sort()).toEqual(deltas.map((d) => d.key.value).sort())
    for (const item of items) {
      expect(summaryOf('x', item).sk).toBe('d#2026-01-15')
      expect(item.through).toBe(7)
      expect(item.parts).toBe(items.length)
    }
    // Fewer rows, as many parts as before: each remaining row where it was.
    const again = summaryItems('x', 'd#2026-01-15', deltas.slice(0, 200), 8, items.length, 900)
    expect(again).toHaveLength(items.length)
    const partOfValue = (list: typeof items) =>
      new Map(
        list.flatMap((item) => summaryOf('x', item).deltas.map((d) => [d.key.value, item.sk])),
      )
    const before = partOfValue(items)
    for (const [value, sk] of partOfValue(again)) expect(before.get(value)).toBe(sk)
  })

  it('let one of two summings of a site take the same windows in', async () => {
    const s = await folded(13, 4)
    await s.fold(0, s.size)
    const a = new CounterSummaries(c, s.segments)
    const b = new CounterSummaries(c, s.segments)
    const taken = await Promise.all([a.sum(s.id), b.sum(s.id)])
    expect(taken.filter((n) => n > 0)).toHaveLength(1)
    while ((await a.sum(s.id)) > 0) {}
    expect(await countersOf(new FoldedCounterReads(c, s.segments, a), s.id)).toEqual(s.expected)
  }, 60_000)
})
