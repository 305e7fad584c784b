import { describe, expect, it } from 'vitest'
import { buildStatsQuery, type StatsParams, StatsParamsSchema } from './stats-query.ts'

describe('StatsParamsSchema', () => {
  const custom = (from: string, to: string) =>
    StatsParamsSchema.safeParse({ site: 'default', period: 'custom', from, to })

  it('takes a custom period of real days', () => {
    expect(custom('2024-02-28', '2024-03-01').success).toBe(true)
    expect(custom('2024-02-29', '2024-02-29').success).toBe(true)
  })

  // Found by test/http-fuzz.test.ts: 2026-02-30 was read as March 2, after its `to`, and the
  // empty range made the breakdowns' read invalid SQL (a 500).
  it.each([
    ['2026-02-30', '2026-03-01'],
    ['2025-02-29', '2025-03-01'],
    ['2026-04-31', '2026-05-01'],
    ['2026-01-01', '2026-13-01'],
    ['2026-00-10', '2026-01-01'],
  ])('refuses a day no calendar has: %s to %s', (from, to) => {
    const result = custom(from, to)
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((issue) => issue.message)).toContain('is not a real date')
  })
  // Found by test/http-fuzz.test.ts: counting the chart's days on past 9999-12-31 never ended,
  // and the whole process ran out of memory.
  it('refuses days past 9998-12-31, and builds a query up to it', () => {
    const result = custom('9999-01-01', '9999-12-31')
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((issue) => issue.message)).toContain(
      'must be 9998-12-31 or earlier',
    )
    const last = custom('9998-01-01', '9998-12-31')
    expect(last.success).toBe(true)
    const query = buildStatsQuery(last.data as StatsParams, 'Pacific/Kiritimati', Date.now())
    expect(query.current.totals).toEqual({ grain: 'day', from: '9998-01-01', to: '9998-12-31' })
    expect(query.current.series).toEqual(query.current.totals)
  })
})
