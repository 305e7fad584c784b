import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededRandom } from '../../core/seeded-random.ts'
import { horizons } from '../../fold/fold-state.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { countingWriter, entriesOf, foldedCounts } from '../../testing/fold-scenario.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { rollupScenario, scenarioClients } from '../../testing/rollup-scenario.ts'
import type { RollupEntry } from '../store.ts'
import { FoldSegments, SEGMENT_KEEP_MS } from './fold-segments.ts'
import { REPLAY_HORIZON_HOURS } from './fold-writer.ts'
import { Requests, type StoreContext } from './requests.ts'

const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)
const HOUR = 3_600_000

let local: LocalTables
beforeAll(async () => {
  local = await localTables()
})
afterAll(async () => {
  await local.drop()
})

/**
 * A store context over the tables. Its clock is the real one: windows are stored with a TTL
 * from it, and DynamoDB Local deletes what expired (the writers' clocks are the scenario's).
 */
function context(): StoreContext {
  return {
    doc: local.clients.doc,
    requests: new Requests(local.clients.doc),
    tables: local.tables,
    now: Date.now,
    eventTtlMs: 24 * HOUR,
  }
}

/** Sites of their own per test: the tables are shared. */
let sites = 0
function scenarioFor(seed: number) {
  const id = `fold-${++sites}`
  const { events, bots } = rollupScenario(seed)
  return {
    id,
    // The scenario's site is site-a: its events as another site's, for a fresh log.
    events: events.map((e) => ({ ...e, site_id: id })),
    bots: bots.map((b) => ({ ...b, site_id: id })),
    original: { events, bots },
  }
}

async function storedCounts(segments: FoldSegments, id: string, clients: string[]) {
  const folds = (await segments.after(id, 0)).map((s) => {
    // Read back as the scenario's site, which foldedCounts reads.
    const fold = s.fold
    return Object.assign(fold, { siteId: 'site-a' })
  })
  for (const fold of folds) {
    for (const { key } of fold.deltas.deltas()) key.site_id = 'site-a'
    for (const kept of fold.sessions.values()) kept.session.site_id = 'site-a'
  }
  return foldedCounts(folds, clients)
}

describe('the fold on DynamoDB', () => {
  it('counts every entry once when two writers of a site are handed overlapping batches, as the SQLite store counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          scenario: fc.integer({ min: 1, max: 1_000_000 }),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batch: fc.integer({ min: 1, max: 30 }),
          again: fc.integer({ min: 0, max: 60 }),
          restarts: fc.integer({ min: 0, max: 30 }),
        }),
        async (s) => {
          const scenario = scenarioFor(s.scenario)
          const random = seededRandom(s.seed)
          const clock = { now: T0 + 12 * HOUR }
          const segments = new FoldSegments(context())
          // One drawer of session ids for every writer, as random ids are unique across them.
          const options = orderedRollupOptions()
          const writer = () => countingWriter(segments, options, () => clock.now)
          const writers = [writer(), writer()]
          const entries = entriesOf(scenario.events, scenario.bots)
          const batches: RollupEntry[][] = []
          for (let i = 0; i < entries.length; i += s.batch) {
            batches.push(entries.slice(i, i + s.batch))
          }
          // Some batches delivered again, a few batches later, to either writer.
          const deliveries: RollupEntry[][] = []
          for (const [i, batch] of batches.entries()) {
            deliveries.push(batch)
            if (random() * 100 < s.again) {
              const later = batches.slice(i, i + 1 + Math.floor(random() * 3)).flat()
              deliveries.push(later)
            }
          }
          for (const delivery of deliveries) {
            const w = Math.floor(random() * 2)
            if (random() * 100 < s.restarts) writers[w] = writer()
            await writers[w]?.count(delivery)
          }
          const expected = await sqliteCounts(
            site,
            scenario.original.events,
            scenario.original.bots,
          )
          const clients = scenarioClients(scenario.original.events)
          expect(await storedCounts(segments, scenario.id, clients)).toEqual(expected)
        },
      ),
      { numRuns: 8 },
    )
  }, 240_000)

  it('catches a writer up on windows others stored, and takes back a window stored under a taken number', async () => {
    const scenario = scenarioFor(11)
    const clock = { now: T0 + 12 * HOUR }
    const segments = new FoldSegments(context())
    const refused: number[] = []
    const append = segments.append.bind(segments)
    segments.append = async (id, seq, fold) => {
      const stored = await append(id, seq, fold)
      if (!stored) refused.push(seq)
      return stored
    }
    const options = orderedRollupOptions()
    const a = countingWriter(segments, options, () => clock.now)
    // b reads as it would have read just before a stored: nothing stored yet.
    let stale = true
    const view = Object.create(segments) as FoldSegments
    view.since = async (id, from) => (stale ? { last: 0, segments: [] } : segments.since(id, from))
    view.after = async (id, seq) => (stale ? [] : segments.after(id, seq))
    const b = countingWriter(view, options, () => clock.now)
    const entries = entriesOf(scenario.events, scenario.bots)
    const half = Math.floor(entries.length / 2)
    expect((await a.count(entries.slice(0, half))).counted).toBe(half)
    const appendOf = view.append.bind(view)
    view.append = async (id, seq, fold) => {
      const stored = await appendOf(id, seq, fold)
      stale = false
      return stored
    }
    // b counts everything as new, is refused window 1, takes it back, catches up on a's
    // window and counts the second half only.
    expect((await b.count(entries)).counted).toBe(entries.length - half)
    expect(refused).toEqual([1])
    // a, behind b now or not, is handed the rest again: it catches up and counts nothing new.
    expect((await a.count(entries.slice(half))).counted).toBe(0)
    const stored = await segments.after(scenario.id, 0)
    expect(stored.map((s) => s.seq)).toEqual([1, 2])
    const expected = await sqliteCounts(site, scenario.original.events, scenario.original.bots)
    const clients = scenarioClients(scenario.original.events)
    expect(await storedCounts(segments, scenario.id, clients)).toEqual(expected)
  }, 60_000)

  it('reads further back for an entry accepted long ago, and counts it once', async () => {
    const id = `fold-${++sites}`
    const clock = { now: T0 }
    const segments = new FoldSegments(context())
    const writer = countingWriter(segments, orderedRollupOptions(), () => clock.now)
    const event = enrichedEvent({ site_id: id, event_id: 'e1', timestamp: T0 - 60_000 })
    const entry: RollupEntry = {
      stream: 's',
      position: '1',
      item: { kind: 'event', event },
      origin: { partition: `${id}#client-1`, id: `${event.timestamp}#e1` },
    }
    expect((await writer.count([entry])).counted).toBe(1)
    // Two days on, its memory pruned, the same entry is replayed from where it was kept.
    clock.now = T0 + 48 * HOUR
    const other = { ...entry, origin: { partition: `${id}#client-2`, id: 'x' } }
    const laterEvent = enrichedEvent({
      site_id: id,
      client_session_id: 'client-2',
      event_id: 'e2',
      timestamp: clock.now,
    })
    const later = { ...other, item: { kind: 'event' as const, event: laterEvent } }
    expect((await writer.count([later])).counted).toBe(1)
    expect((await writer.count([entry])).counted).toBe(0)
    expect((await segments.after(id, 0)).map((s) => s.seq)).toEqual([1, 2])
  }, 60_000)
})

describe('the fold’s replay horizon', () => {
  it('is within what a rebuild can read back from the kept windows', () => {
    const reachBack = horizons(30 * 60_000).longestMs
    expect(REPLAY_HORIZON_HOURS * HOUR + reachBack).toBeLessThanOrEqual(SEGMENT_KEEP_MS)
  })
})
