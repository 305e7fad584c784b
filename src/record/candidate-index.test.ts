import fc from 'fast-check'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { HOUR_MS } from '../core/calendar.ts'
import type { Filter } from '../core/stats-filters.ts'
import { columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { recordWorld } from '../testing/record-world.ts'
import { candidateIndexBytes, candidatesOf, narrowedFrom } from './candidate-index.ts'
import { type ColumnarPart, columnarPart, Dictionaries, mergeParts } from './columnar-record.ts'
import { columnarReport } from './columnar-report.ts'
import { ScanPool } from './scan-pool.ts'

/**
 * The candidate lists (candidate-index.ts) change which visitors a filtered scan reads, never
 * its report: over random worlds, filters (every dimension, `is`, `is not`, `contains`, alone
 * and combined), periods and parts, the scan of the candidates equals the full scan and the
 * object engine's report, on this thread and on workers.
 */

const is = (dim: string, value: string): Filter => ({ dim, op: 'is', value }) as Filter

/** The groups of a part holding a session that passes `keeps`. */
function groupsWhere(part: ColumnarPart, keeps: (s: number) => boolean): number[] {
  const out: number[] = []
  for (let g = 0; g + 1 < part.groupFrom.length; g++) {
    for (let s = part.groupFrom[g] as number; s < (part.groupFrom[g + 1] as number); s++) {
      if (keeps(s)) {
        out.push(g)
        break
      }
    }
  }
  return out
}

describe('candidatesOf', () => {
  it('gives reports equal to the full scan and filteredReport over random cases', () => {
    let indexed = 0
    fc.assert(
      fc.property(columnarCaseArb, (q) => {
        const { expected, ...input } = columnarCase(q)
        const candidates = candidatesOf(
          input.dicts,
          input.parts[0] as ColumnarPart,
          input.query.filters,
          Number.POSITIVE_INFINITY,
        )
        if (candidates) indexed++
        expect(columnarReport({ ...input, candidates })).toEqual(expected)
        expect(columnarReport(input)).toEqual(expected)
      }),
      { seed: 2605, numRuns: 400 },
    )
    // Most random filter lists hold an `is` or `contains` filter on an indexed dimension.
    expect(indexed).toBeGreaterThan(150)
  })

  it('lists exactly the groups with a session of the value, a page view of the page, an event of the type', () => {
    const dicts = new Dictionaries('UTC')
    const sessions = recordWorld(7, 4 * 24 * HOUR_MS)
    const part = columnarPart(dicts, sessions)
    const source = dicts.columns[2]
    expect(source?.values).toContain('Google')
    const google = source?.find('Google') as number
    const pageView = dicts.eventTypes.find('page_view')
    const pricing = dicts.paths.find('/pricing')
    const signup = dicts.eventTypes.find('signup')
    const eventsOf = (s: number) =>
      Array.from(
        { length: (part.eventFrom[s + 1] as number) - (part.eventFrom[s] as number) },
        (_, i) => (part.eventFrom[s] as number) + i,
      )
    const listed = (filter: Filter) => [
      ...(candidatesOf(dicts, part, [filter], Number.POSITIVE_INFINITY)?.groups ?? []),
    ]
    expect(listed(is('source', 'Google'))).toEqual(
      groupsWhere(part, (s) => part.columns[2]?.[s] === google),
    )
    expect(listed(is('page', '/pricing'))).toEqual(
      groupsWhere(part, (s) =>
        eventsOf(s).some((e) => part.eventType[e] === pageView && part.path[e] === pricing),
      ),
    )
    expect(listed(is('event', 'signup'))).toEqual(
      groupsWhere(part, (s) => eventsOf(s).some((e) => part.eventType[e] === signup)),
    )
    // Contains: the union of its values' groups, each once, in order.
    const blog = ['/blog/a', '/Blog/B'].map((p) => dicts.paths.find(p))
    expect(listed({ dim: 'page', op: 'contains', value: 'BLOG' })).toEqual(
      groupsWhere(part, (s) =>
        eventsOf(s).some(
          (e) => part.eventType[e] === pageView && blog.includes(part.path[e] as number),
        ),
      ),
    )
    // A value nobody sent: no group to read.
    expect(listed(is('source', 'Nowhere'))).toEqual([])
    // Two filters: the shorter list (the scan tests the other filter on each session).
    const both = listed(is('source', 'Google')).length
    const one = listed(is('event', 'signup')).length
    expect(
      candidatesOf(
        dicts,
        part,
        [is('source', 'Google'), is('event', 'signup')],
        Number.POSITIVE_INFINITY,
      )?.groups.length,
    ).toBe(Math.min(both, one))
  })

  it('narrows candidates to the groups with a session ending at or after a moment', () => {
    const dicts = new Dictionaries('UTC')
    const sessions = recordWorld(9, 6 * 24 * HOUR_MS)
    const part = columnarPart(dicts, sessions)
    const from = Math.min(...sessions.map((s) => s.end_time)) + 3 * 24 * HOUR_MS
    const late = (s: number) => (part.end[s] as number) >= from
    expect([...narrowedFrom(part, null, from).groups]).toEqual(groupsWhere(part, late))
    const google = candidatesOf(dicts, part, [is('source', 'Google')], Number.POSITIVE_INFINITY)
    const listed = new Set(google?.groups)
    expect([...narrowedFrom(part, google, from).groups]).toEqual(
      groupsWhere(part, late).filter((g) => listed.has(g)),
    )
  })

  it('gives none for filters every group may pass (is not, properties) and past the memory room', () => {
    const dicts = new Dictionaries('UTC')
    const part = columnarPart(dicts, recordWorld(8, 3 * 24 * HOUR_MS))
    const room = Number.POSITIVE_INFINITY
    expect(candidatesOf(dicts, part, [], room)).toBeNull()
    expect(
      candidatesOf(dicts, part, [{ dim: 'source', op: 'is_not', value: 'Google' }], room),
    ).toBeNull()
    expect(candidatesOf(dicts, part, [is('prop.plan', 'pro')], room)).toBeNull()
    // No room for the index: not built, the scan reads every group.
    expect(candidatesOf(dicts, part, [is('country', 'DE')], 0)).toBeNull()
    expect(candidateIndexBytes(part)).toBe(0)
    expect(candidatesOf(dicts, part, [is('country', 'DE')], room)).not.toBeNull()
    expect(candidateIndexBytes(part)).toBeGreaterThan(0)
  })
})

describe('candidates on scan workers', () => {
  const pools: ScanPool[] = []
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()))
  })

  it('equal filteredReport with 2 workers reading the candidates of the closed part', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() }
    const pool = new ScanPool({ threads: 2, logger, shareBlockBits: 0 })
    pools.push(pool)
    await fc.assert(
      fc.asyncProperty(columnarCaseArb, async (q) => {
        const c = columnarCase(q)
        const [a, b, more] = c.parts as [ColumnarPart, ColumnarPart?, ColumnarPart?]
        const parts = (
          !b ? [a, columnarPart(c.dicts, [])] : more ? [mergeParts(a, b), more] : [a, b]
        ) as [ColumnarPart, ColumnarPart]
        const candidates = candidatesOf(
          c.dicts,
          parts[0],
          c.query.filters,
          Number.POSITIVE_INFINITY,
        )
        expect(await pool.report('site', { ...c, parts, candidates })).toEqual(c.expected)
      }),
      { seed: 2606, numRuns: 60 },
    )
    expect(logger.warn).not.toHaveBeenCalled()
    expect(logger.error).not.toHaveBeenCalled()
  })
})
