import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HOUR_MS } from '../core/calendar.ts'
import { buildStatsQuery, PERIODS, StatsParamsSchema } from '../core/stats-query.ts'
import { BASE, PROP_KEYS, recordWorld, ZONES } from '../testing/record-world.ts'
import { columnarProps } from './columnar-props.ts'
import { type ColumnarPart, columnarPart, Dictionaries } from './columnar-record.ts'
import { filteredReport, propertiesPart } from './filtered-report.ts'
import { readWindow } from './period-window.ts'

/**
 * The unfiltered property breakdown's own pass against the full object report (the
 * reference) over random worlds: visitors whose sessions cross local midnights and parts,
 * sessions from before the record, every period and zone, keys present and absent.
 */

const MINUTE_MS = 60_000

describe('columnarProps', () => {
  it("equals filteredReport's props, prop_keys and record_partial without filters", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          zone: fc.constantFrom(...ZONES),
          period: fc.constantFrom(...PERIODS.filter((p) => p !== 'custom')),
          nowOffset: fc.integer({ min: 0, max: 3 * 24 * 60 }),
          key: fc.constantFrom(...PROP_KEYS, 'absent'),
          limit: fc.constantFrom(2, 10),
          parts: fc.integer({ min: 1, max: 3 }),
        }),
        (q) => {
          const span =
            q.period === '90d' || q.period === '12mo' ? 40 * 24 * HOUR_MS : 10 * 24 * HOUR_MS
          const sessions = recordWorld(q.seed, span)
          const params = StatsParamsSchema.parse({
            site: 'site',
            period: q.period,
            limit: q.limit,
            props: q.key,
          })
          const query = buildStatsQuery(params, q.zone, BASE + q.nowOffset * MINUTE_MS)
          const w = readWindow(query.current, query.timezone)
          const expected = filteredReport({
            current: sessions.filter((s) => s.start_time <= w.to && s.end_time >= w.from),
            previous: null,
            query,
            recordSince: null,
          })
          // Split by the sessions' ends, as the closed days and the open tail hold them.
          const dicts = new Dictionaries(q.zone)
          const ends = sessions.map((s) => s.end_time).sort((a, b) => a - b)
          const parts: ColumnarPart[] = []
          for (let p = 0; p < q.parts; p++) {
            const lo = p === 0 ? -Infinity : (ends[Math.floor((ends.length * p) / q.parts)] ?? 0)
            const hi =
              p === q.parts - 1
                ? Infinity
                : (ends[Math.floor((ends.length * (p + 1)) / q.parts)] ?? 0)
            parts.push(
              columnarPart(
                dicts,
                sessions.filter((s) => s.end_time >= lo && s.end_time < hi),
              ),
            )
          }
          const actual = columnarProps(dicts, parts, query)
          expect(propertiesPart(query, { propKeys: actual.keys, propRows: actual.rows })).toEqual({
            prop_keys: expected.prop_keys,
            props: expected.props,
          })
          expect(actual.partial).toBe(expected.record_partial)
        },
      ),
      { seed: 2026, numRuns: 300 },
    )
  })

  it('counts a visitor once per day for a value seen in two sessions, at the first', () => {
    const dicts = new Dictionaries('UTC')
    const day = Date.UTC(2026, 2, 10)
    const session = (id: string, at: number, plan: string) => ({
      ...recordWorld(1, HOUR_MS)[0],
      id,
      client_session_id: id,
      visitor_id: 'v1',
      start_time: at,
      end_time: at + 60_000,
      events: [
        { event_id: `${id}-e`, timestamp: at, event_type: 'signup', path: '/', props: { plan } },
      ],
    })
    const part = columnarPart(dicts, [
      session('a', day + 9 * HOUR_MS, 'pro') as never,
      session('b', day + 15 * HOUR_MS, 'pro') as never,
      session('c', day + 16 * HOUR_MS, 'free') as never,
    ])
    const query = buildStatsQuery(
      StatsParamsSchema.parse({
        site: 'site',
        period: 'custom',
        from: '2026-03-10',
        to: '2026-03-10',
        props: 'plan',
      }),
      'UTC',
      day + 20 * HOUR_MS,
    )
    const { rows, keys } = columnarProps(dicts, [part], query)
    expect(rows.get('pro')).toEqual({ value: 'pro', events: 2, visitors: 1 })
    expect(rows.get('free')).toEqual({ value: 'free', events: 1, visitors: 1 })
    expect(keys.get('plan')).toBe(3)
  })
})
