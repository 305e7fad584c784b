import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../core/seeded-random.ts'
import type { EnrichedEvent } from '../core/types.ts'
import { rollUpBatch } from '../rollup/roll-up-batch.ts'
import type { RollupEntry } from '../storage/store.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import { entriesOf, foldedCounts } from '../testing/fold-scenario.ts'
import { orderedRollupOptions, sqliteCounts } from '../testing/rollup-reference.ts'
import { rollupScenario, scenarioClients } from '../testing/rollup-scenario.ts'
import { FoldState, horizons } from './fold-state.ts'
import type { SiteFold } from './site-fold.ts'

const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)
const TIMEOUT = 30 * 60_000

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
          const fold = state.takeSite('site-a')
          if (fold) stored.push(fold)
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
    state.takeSite('site-a')
    // An event arriving as late as the collector allows, 10 minutes after the first, twice.
    const arrival = T0 + 10 * 60_000 + limits.countedMs
    state.site('site-a').prune(arrival, limits)
    const late = enrichedEvent({
      event_id: 'b',
      client_session_id: 'c',
      timestamp: T0 + 10 * 60_000,
    })
    await rollUpBatch(state, [entry(late)], options)
    await rollUpBatch(state, [entry(late)], options)
    const fold = state.takeSite('site-a')
    const sessions = [...(fold?.sessions.values() ?? [])]
    // It joined the first event's session, and was counted once.
    expect(sessions.map((k) => [k.session.pageviews, k.session.start_time])).toEqual([[2, T0]])
    expect(fold?.counted).toHaveLength(1)
    // Past the horizons, the session and the key are forgotten.
    state.site('site-a').prune(T0 + 10 * 60_000 + limits.sessionsMs + 1, limits)
    expect(state.site('site-a').sessions.size).toBe(0)
    expect(state.site('site-a').counted.size).toBe(0)
  })
})
