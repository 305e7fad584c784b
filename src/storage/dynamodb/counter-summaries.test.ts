import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { ROW_DIMENSIONS } from '../../core/rollup-deltas.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { countingWriter, entriesOf } from '../../testing/fold-scenario.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { rollupScenario, SCENARIO_DAY } from '../../testing/rollup-scenario.ts'
import type { CounterReads, RollupRow } from '../store.ts'
import { CounterSummaries } from './counter-summaries.ts'
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
