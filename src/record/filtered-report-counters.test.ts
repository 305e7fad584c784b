import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SESSION_DIMENSIONS } from '../core/rollup-deltas.ts'
import { buildStatsQuery, StatsParamsSchema, type StatsQuery } from '../core/stats-query.ts'
import type { EnrichedEvent } from '../core/types.ts'
import { BREAKDOWNS, type BreakdownName } from '../queries/breakdowns.ts'
import { statsReport } from '../queries/stats-report.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { acceptAndRollUp } from '../testing/accept-and-roll-up.ts'
import { makeSite } from '../testing/fixtures.ts'
import { recordOfEvents } from '../testing/record-of-events.ts'
import { orderedRollupOptions } from '../testing/rollup-reference.ts'
import { rollupScenario } from '../testing/rollup-scenario.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { filteredReport } from './filtered-report.ts'
import type { RecordSession } from './session-record.ts'

/**
 * The record's report against the counters' for the same events, counted by the real roll-up
 * into a SQLite store: with no filters they must agree on every figure, except where
 * filtered-report.ts says they differ (visitors of session-dimension rows).
 */

const HOUR = 3_600_000
const SCENARIO_T0 = Date.UTC(2026, 0, 15, 9, 0, 0)

function query(params: Record<string, unknown>, now: number, timeZone = 'UTC'): StatsQuery {
  const parsed = StatsParamsSchema.parse({ site: 'site-a', limit: 100, ...params })
  return buildStatsQuery(parsed, timeZone, now)
}

const QUERIES: Array<[string, StatsQuery]> = [
  [
    'the scenario day, compared, hourly chart',
    query({ period: 'custom', from: '2026-01-15', to: '2026-01-15', compare: 'previous' }, 0),
  ],
  ['a rolling 24 hours ending mid-morning', query({ period: '24h' }, SCENARIO_T0 + 2.5 * HOUR)],
  // From 11:00: visitors first seen at 9 or 10 are not counted again in the window.
  ['a rolling 24 hours starting mid-morning', query({ period: '24h' }, SCENARIO_T0 + 25 * HOUR)],
  [
    'seven days, daily chart',
    query({ period: '7d', compare: 'previous' }, SCENARIO_T0 + 48 * HOUR),
  ],
]

/** Session-dimension tables' visitor columns: where the record counts per value. */
const PER_VALUE_VISITORS = new Set<BreakdownName>(
  (Object.keys(BREAKDOWNS) as BreakdownName[]).filter((name) => {
    const dim: string = BREAKDOWNS[name].dim
    return dim === 'entry_page' || (SESSION_DIMENSIONS as readonly string[]).includes(dim)
  }),
)

async function countersOf(events: EnrichedEvent[], timezone = 'UTC') {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'counters.db') })
  await store.createSite(makeSite({ timezone }))
  await acceptAndRollUp(store, events, [], orderedRollupOptions())
  return {
    report: (q: StatsQuery) => statsReport(store, q),
    close: async () => {
      await store.close()
      dir.remove()
    },
  }
}

const record = (sessions: RecordSession[], q: StatsQuery) =>
  filteredReport({ current: sessions, previous: sessions, query: q, recordSince: 0 })

describe('the record with no filters, against the counters', () => {
  describe('one session per visitor and day: every figure equal', () => {
    // Each tracker session its own visitor (the two tabs stay one visitor, in identical
    // sessions): then "the session first seen in" and "every session" are the same.
    const events = rollupScenario().events.map((e) =>
      e.visitor_id === 'visitor-two-tabs' ? e : { ...e, visitor_id: e.client_session_id },
    )
    const sessions = recordOfEvents(events)
    let counters: Awaited<ReturnType<typeof countersOf>>
    beforeAll(async () => {
      counters = await countersOf(events)
    })
    afterAll(() => counters.close())

    it.each(QUERIES)('%s', async (_, q) => {
      const expected = await counters.report(q)
      const { filter_applies_to, ...same } = expected
      const got = record(sessions, q)
      expect(got).toMatchObject(same)
      expect(got.filter_applies_to).toEqual(filter_applies_to)
      // Not vacuous: the scenario has traffic in the window.
      expect(got.summary.visitors.value).toBeGreaterThan(0)
    })
  })

  describe('in Auckland, where the morning crosses local midnight: every figure equal', () => {
    // 11:00 UTC is midnight in Auckland (UTC+13 in January): the scenario's later sessions
    // belong to the next local day, some span the midnight, and visitors count on each day.
    const ZONE = 'Pacific/Auckland'
    const events = rollupScenario().events.map((e) => ({
      ...e,
      timezone: ZONE,
      visitor_id: e.visitor_id === 'visitor-two-tabs' ? e.visitor_id : e.client_session_id,
    }))
    const sessions = recordOfEvents(events)
    let counters: Awaited<ReturnType<typeof countersOf>>
    beforeAll(async () => {
      counters = await countersOf(events, ZONE)
    })
    afterAll(() => counters.close())

    it.each<[string, StatsQuery]>([
      [
        'two local days, hourly chart',
        query({ period: 'custom', from: '2026-01-15', to: '2026-01-16' }, 0, ZONE),
      ],
      ['a rolling 24 hours', query({ period: '24h' }, SCENARIO_T0 + 7 * HOUR, ZONE)],
      ['seven days', query({ period: '7d' }, SCENARIO_T0 + 30 * HOUR, ZONE)],
    ])('%s', async (_, q) => {
      const { filter_applies_to, ...same } = await counters.report(q)
      const got = record(sessions, q)
      expect(got).toMatchObject(same)
      // Not vacuous: the scenario's visitors show on both local days.
      const visitorsByDay = new Map<string, number>()
      got.timeseries.labels.forEach((label, i) => {
        const day = label.slice(0, 10)
        visitorsByDay.set(
          day,
          (visitorsByDay.get(day) ?? 0) + (got.timeseries.datasets[1].data[i] ?? 0),
        )
      })
      expect([...visitorsByDay.values()].filter((v) => v > 0).length).toBe(2)
    })
  })

  describe('visitors with several sessions a day', () => {
    const { events } = rollupScenario()
    const sessions = recordOfEvents(events)
    let counters: Awaited<ReturnType<typeof countersOf>>
    beforeAll(async () => {
      counters = await countersOf(events)
    })
    afterAll(() => counters.close())

    it.each(QUERIES)('%s: equal but for session-dimension visitors', async (_, q) => {
      const expected = await counters.report(q)
      const got = record(sessions, q)
      expect(got.summary).toEqual(expected.summary)
      expect(got.timeseries).toEqual(expected.timeseries)
      for (const name of Object.keys(BREAKDOWNS) as BreakdownName[]) {
        if (!PER_VALUE_VISITORS.has(name)) {
          expect(got[name], name).toEqual(expected[name])
          continue
        }
        const strip = (rows: Array<Record<string, string | number>>) =>
          rows.map(({ visitors, ...rest }) => rest)
        // Ordered by visitors, the order may differ: compare as sets of values.
        const key = (r: Record<string, string | number>) => JSON.stringify(r)
        expect(strip(got[name]).map(key).sort(), name).toEqual(
          strip(expected[name]).map(key).sort(),
        )
      }
    })

    it('counts a visitor under every source they came from that day, as filtering by it does', async () => {
      const q = QUERIES[0]?.[1] as StatsQuery
      const counted = await counters.report(q)
      const got = record(sessions, q)
      let more = 0
      for (const row of got.sources) {
        const counterRow = counted.sources.find((r) => r.source === row.source)
        expect(row.visitors).toBeGreaterThanOrEqual(Number(counterRow?.visitors ?? 0))
        more += Number(row.visitors) - Number(counterRow?.visitors ?? 0)
        const filtered = record(sessions, {
          ...q,
          filters: [{ dim: 'source', op: 'is', value: String(row.source) }],
        })
        expect(filtered.summary.visitors.value).toBe(row.visitors)
      }
      // The scenario has visitors with sessions from two sources on the day.
      expect(more).toBeGreaterThan(0)
    })
  })
})
