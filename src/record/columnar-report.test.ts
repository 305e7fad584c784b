import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HOUR_MS } from '../core/calendar.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { columnarPart, Dictionaries, mergeParts, SESSION_COLUMNS } from './columnar-record.ts'
import { columnarReport } from './columnar-report.ts'
import { filteredReport } from './filtered-report.ts'
import { readWindow } from './period-window.ts'

/**
 * The columnar report against the object one (the reference) over random worlds: visitors
 * with sessions across days, local midnights and time zones, sessions from before the record,
 * every filter dimension and operator alone and combined, properties, the previous period,
 * and the sessions split over several parts (closed days and an open tail) or merged
 * (testing/columnar-cases.ts).
 */

describe('columnarReport', () => {
  it('equals filteredReport over random worlds, filters, periods and parts', () => {
    fc.assert(
      fc.property(columnarCaseArb, (q) => {
        const { expected, ...input } = columnarCase(q)
        expect(columnarReport(input)).toEqual(expected)
      }),
      { seed: 26, numRuns: 400 },
    )
  })
})

describe('columnar codes', () => {
  it('keeps values numbered past 255 and 65,535 (Uint16 and Int32 columns), merged too', () => {
    const sessions = recordWorld(5, 5 * 24 * HOUR_MS)
    const dicts = new Dictionaries('UTC')
    // Values nobody sent push the world's numbers up: source past 65,535, country past 255.
    const source = SESSION_COLUMNS.indexOf('source')
    const country = SESSION_COLUMNS.indexOf('country')
    for (let i = 0; i < 70_000; i++) dicts.columns[source]?.id(`unsent-${i}`)
    for (let i = 0; i < 300; i++) dicts.columns[country]?.id(`unsent-${i}`)
    const half = Math.floor(sessions.length / 2)
    const parts = [
      mergeParts(
        columnarPart(dicts, sessions.slice(0, half)),
        columnarPart(dicts, sessions.slice(half)),
      ),
    ]
    expect(parts[0]?.columns[source]).toBeInstanceOf(Int32Array)
    expect(parts[0]?.columns[country]).toBeInstanceOf(Uint16Array)
    expect(parts[0]?.columns[SESSION_COLUMNS.indexOf('device')]).toBeInstanceOf(Uint8Array)
    for (const filter of [[], ['source:Google'], ['country!:DE']]) {
      const query = buildStatsQuery(
        StatsParamsSchema.parse({ site: 'site', period: '7d', filter }),
        'UTC',
        BASE,
      )
      const w = readWindow(query.current, 'UTC')
      const current = sessions.filter((s) => s.start_time <= w.to && s.end_time >= w.from)
      const recordSince = sessions.some((s) => s.events === null) ? BASE : null
      expect(columnarReport({ dicts, parts, query, recordSince })).toEqual(
        filteredReport({ current, previous: null, query, recordSince }),
      )
    }
  })
})
