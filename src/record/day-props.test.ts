import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { columnarProps } from './columnar-props.ts'
import { type ColumnarPart, columnarPart, mergeParts } from './columnar-record.ts'
import { DayProps } from './day-props.ts'

/**
 * The unfiltered property breakdown with its closed days from kept counts (day-props.ts)
 * equals the pass over every session (columnarProps, itself held to the object report), on
 * the first ask and from the kept counts, over random worlds, periods, zones and parts.
 */
describe('DayProps', () => {
  it('equals columnarProps, built and then kept, over random cases', () => {
    fc.assert(
      fc.property(columnarCaseArb, fc.constantFrom('plan', 'value', 'file', 'absent'), (q, key) => {
        const c = columnarCase({ ...q, filters: [], props: key, compare: false })
        const [a, b, more] = c.parts as [ColumnarPart, ColumnarPart?, ColumnarPart?]
        const [closed, tail] = (
          !b ? [a, columnarPart(c.dicts, [])] : more ? [mergeParts(a, b), more] : [a, b]
        ) as [ColumnarPart, ColumnarPart]
        const expected = columnarProps(c.dicts, [closed, tail], c.query)
        const days = new DayProps(() => Number.POSITIVE_INFINITY)
        expect(days.properties('site', c.dicts, closed, tail, c.query)).toEqual(expected)
        expect(days.properties('site', c.dicts, closed, tail, c.query)).toEqual(expected)
        // No room: read whole, nothing kept.
        const none = new DayProps(() => 0)
        expect(none.properties('site', c.dicts, closed, tail, c.query)).toEqual(expected)
        expect(none.bytes()).toBe(0)
      }),
      { seed: 2610, numRuns: 300 },
    )
  })
})
