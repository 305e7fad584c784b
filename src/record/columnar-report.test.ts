import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { columnarReport } from './columnar-report.ts'

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
