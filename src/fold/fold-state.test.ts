import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hourBucket } from '../core/calendar.ts'
import { ROW_DIMENSIONS } from '../core/rollup-deltas.ts'
import { seededRandom } from '../core/seeded-random.ts'
import type { BotHit, EnrichedEvent, RollupDelta } from '../core/types.ts'
import { rollUpBatch } from '../rollup/roll-up-batch.ts'
import type { RollupEntry } from '../storage/store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import { orderedRollupOptions, sqliteCounts } from '../testing/rollup-reference.ts'
import { rollupScenario, SCENARIO_DAY, scenarioClients } from '../testing/rollup-scenario.ts'
import { FoldState, horizons } from './fold-state.ts'
import { foldedRows } from './folded-counters.ts'
import type { SiteFold } from './site-fold.ts'

const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)
const TIMEOUT = 30 * 60_000

/** Entries as the fold's source hands them over: each with its stored item's key. */
function entriesOf(events: readonly EnrichedEvent[], bots: readonly BotHit[]): RollupEntry[] {
  const entries: RollupEntry[] = events.map((event, i) => ({
    stream: 'requests',
    position: String(i),
    item: { kind: 'event', event },
    origin: {
      partition: `${event.site_id}#${event.client_session_id}`,
      id: `${event.timestamp}#${event.event_id}`,
    },
  }))
  bots.forEach((hit, i) =>
    entries.push({
      stream: 'requests',
      position: String(events.length + i),
      item: { kind: 'bot', hit },
      origin: { partition: `${hit.site_id}#~bot`, id: `${hit.timestamp}#${i}` },
    }),
  )
  return entries
}

/** What readers of the folded windows see, in the shape `countsOf` gives for a Store. */
function foldedCounts(folds: readonly SiteFold[], clients: readonly string[]) {
  const deltas: RollupDelta[] = folds.flatMap((fold) => fold.deltas.deltas())
  const range = { site_id: 'site-a', from: SCENARIO_DAY, to: SCENARIO_DAY }
  const days = ROW_DIMENSIONS.map((dim) => foldedRows(deltas, { grain: 'day', dim, ...range }))
  const hours = foldedRows(deltas, {
    grain: 'hour',
    site_id: 'site-a',
    dim: '',
    from: hourBucket(T0) - 1,
    to: hourBucket(T0) + 12,
  })
  // The sessions as the windows leave them: replayed in order into a new memory.
  const state = new FoldState(TIMEOUT)
  for (const fold of folds) state.replay(fold)
  const kept = [...state.site('site-a').sessions.values()].flat()
  const sessions = clients.map((client) => {
    const own = kept.filter((k) => k.session.client_session_id === client).map((k) => k.session)
    // As SqliteStore.findSession: the session holding T0, else the nearest.
    const distance = (s: (typeof own)[number]) =>
      s.start_time <= T0 && s.end_time >= T0
        ? -1
        : Math.min(Math.abs(s.start_time - T0), Math.abs(s.end_time - T0))
    const found = own.sort((a, b) => distance(a) - distance(b))[0]
    return found ? { ...found, id: '' } : null
  })
  const record = kept
    .map(({ session: s, events }) => ({
      client: s.client_session_id,
      start: s.start_time,
      end: s.end_time,
      events: events
        ?.map((e) => `${e.timestamp}#${e.event_id}#${e.path}`)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    }))
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.start - b.start))
  return { days, hours, sessions, record }
}

const schedule = fc.record({
  scenario: fc.integer({ min: 1, max: 1_000_000 }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  unitSize: fc.integer({ min: 1, max: 25 }),
  unitsPerWindow: fc.integer({ min: 1, max: 6 }),
  // Percentages: fast-check's doubles lean so hard on 0 and the bounds that most runs would
  // deliver nothing twice and never restart.
  duplicates: fc.integer({ min: 5, max: 50 }),
  restarts: fc.integer({ min: 10, max: 80 }),
  failures: fc.integer({ min: 0, max: 30 }),
})

describe('the fold', () => {
  it('counts as the SQLite store does, however arrivals are cut into units and windows, delivered twice, or the process restarts from its stored windows', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const { events, bots } = rollupScenario(s.scenario)
        const random = seededRandom(s.seed)
        // Arrivals in time order, some delivered again up to 80 arrivals later (a retry).
        const originals = entriesOf(events, bots)
        const arrivals = [...originals]
        for (const entry of originals) {
          if (random() * 100 >= s.duplicates) continue
          const after = arrivals.indexOf(entry) + 1 + Math.floor(random() * 80)
          arrivals.splice(Math.min(after, arrivals.length), 0, entry)
        }
        const options = orderedRollupOptions()
        let state = new FoldState(TIMEOUT)
        const stored: SiteFold[] = []
        let units = 0
        for (let i = 0; i < arrivals.length; i += s.unitSize) {
          const unit = arrivals.slice(i, i + s.unitSize)
          if (random() * 100 < s.failures) {
            // A unit that fails part-way changes nothing: it is counted again below.
            await expect(
              state.rollup(async (u) => {
                await u.uncounted(unit)
                throw new Error('storage went away')
              }),
            ).rejects.toThrow('storage went away')
          }
          await rollUpBatch(state, unit, options)
          if (++units % s.unitsPerWindow !== 0 && i + s.unitSize < arrivals.length) continue
          stored.push(...state.take())
          if (random() * 100 < s.restarts) {
            // A new process: what it knows is what was stored.
            state = new FoldState(TIMEOUT)
            for (const fold of stored) state.replay(fold)
          }
        }
        const expected = await sqliteCounts(site, events, bots)
        expect(foldedCounts(stored, scenarioClients(events))).toEqual(expected)
      }),
      { numRuns: 25 },
    )
  }, 120_000)

  it('forgets only what no event arriving later can touch', async () => {
    const options = orderedRollupOptions()
    const state = new FoldState(TIMEOUT)
    const limits = horizons(TIMEOUT)
    const first = enrichedEvent({ event_id: 'a', client_session_id: 'c', timestamp: T0 })
    const entry = (event: EnrichedEvent): RollupEntry => ({
      stream: 's',
      position: '0',
      item: { kind: 'event', event },
    })
    await rollUpBatch(state, [entry(first)], options)
    state.take()
    // An event arriving as late as the collector allows, 10 minutes after the first, twice.
    const arrival = T0 + 10 * 60_000 + limits.countedMs
    state.prune(arrival)
    const late = enrichedEvent({
      event_id: 'b',
      client_session_id: 'c',
      timestamp: T0 + 10 * 60_000,
    })
    await rollUpBatch(state, [entry(late)], options)
    await rollUpBatch(state, [entry(late)], options)
    const [fold] = state.take()
    const sessions = [...(fold?.sessions.values() ?? [])]
    // It joined the first event's session, and was counted once.
    expect(sessions.map((k) => [k.session.pageviews, k.session.start_time])).toEqual([[2, T0]])
    expect(fold?.counted).toHaveLength(1)
    // Past the horizons, the session and the key are forgotten.
    state.prune(T0 + 10 * 60_000 + limits.sessionsMs + 1)
    expect(state.site('site-a').sessions.size).toBe(0)
    expect(state.site('site-a').counted.size).toBe(0)
  })
})
