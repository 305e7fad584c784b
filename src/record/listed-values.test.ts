import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { listedValues } from './listed-values.ts'

/** A table's first `limit` values as filtered-report.ts orders them (here values are numbers). */
function firstRows(
  counters: Record<string, number[]>,
  orderBy: string,
  shown: string[],
  limit: number,
  among: (v: number) => boolean,
): number[] {
  const size = (counters[orderBy] as number[]).length
  return Array.from({ length: size }, (_, v) => v)
    .filter((v) => among(v) && shown.some((name) => (counters[name]?.[v] ?? 0) > 0))
    .sort((a, b) => (counters[orderBy]?.[b] ?? 0) - (counters[orderBy]?.[a] ?? 0) || a - b)
    .slice(0, limit)
}

describe('listedValues', () => {
  it('keeps every value a table lists in its first rows, ties included', () => {
    const counts = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 40 })
    fc.assert(
      fc.property(counts, counts, fc.integer({ min: 1, max: 12 }), (a, b, limit) => {
        const size = Math.min(a.length, b.length)
        const visitors = a.slice(0, size)
        const sessions = b.slice(0, size)
        const listed = listedValues('source', { visitors, sessions }, size, limit)
        const counters = { visitors, sessions }
        const shown = ['visitors', 'sessions']
        const pageShown = ['pageviews', 'visitors']
        expect(firstRows(counters, 'visitors', shown, limit, (v) => listed[v] === 1)).toEqual(
          firstRows(counters, 'visitors', shown, limit, () => true),
        )
        // Pages: ordered by page views, shown when viewed or visited.
        const pages = listedValues('page', { pageviews: sessions, visitors }, size, limit)
        expect(
          firstRows(
            { pageviews: sessions, visitors },
            'pageviews',
            pageShown,
            limit,
            (v) => pages[v] === 1,
          ),
        ).toEqual(
          firstRows({ pageviews: sessions, visitors }, 'pageviews', pageShown, limit, () => true),
        )
      }),
      { seed: 2609, numRuns: 500 },
    )
  })

  it('lists few of many values', () => {
    const visitors = Array.from({ length: 2000 }, (_, v) => v % 97)
    const listed = listedValues('source', { visitors, sessions: visitors }, 2000, 10)
    const n = listed.reduce((sum, x) => sum + x, 0)
    expect(n).toBeGreaterThanOrEqual(10)
    expect(n).toBeLessThan(200)
  })
})
