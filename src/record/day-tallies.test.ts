import fc from 'fast-check'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { DAY_MS, localDay, startOfLocalDay } from '../core/calendar.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { candidatesOf } from './candidate-index.ts'
import { type ColumnarPart, columnarPart, Dictionaries, mergeParts } from './columnar-record.ts'
import {
  ALL_VISITORS,
  columnarReport,
  scanDayTallies,
  scanTallies,
  scanTally,
  tallySpecs,
} from './columnar-report.ts'
import { DayTallies, daySpec, daysBefore, type ScanTallies } from './day-tallies.ts'
import { ScanPool } from './scan-pool.ts'

/**
 * The closed days' kept tallies (day-tallies.ts) change how a filtered report is computed,
 * never what it says: over random worlds, filters, periods (compared or not) and parts, the
 * report with its closed days added from their tallies, built by that query or kept from an
 * earlier one, equals the object engine's and the whole scan's, on this thread and on workers.
 */

const here: ScanTallies = async (parts, specs, candidates, byDay) =>
  scanTallies(specs, parts, ALL_VISITORS, candidates, byDay)

/** The case's parts as the columns hold them: the closed part and the open tail. */
function closedAndTail(c: ReturnType<typeof columnarCase>): [ColumnarPart, ColumnarPart] {
  const [a, b, more] = c.parts as [ColumnarPart, ColumnarPart?, ColumnarPart?]
  return (!b ? [a, columnarPart(c.dicts, [])] : more ? [mergeParts(a, b), more] : [a, b]) as [
    ColumnarPart,
    ColumnarPart,
  ]
}

const unbounded = () => Number.POSITIVE_INFINITY

describe('DayTallies', () => {
  it('gives reports equal to filteredReport, built and then kept, over random cases', async () => {
    await fc.assert(
      fc.asyncProperty(columnarCaseArb, async (q) => {
        const c = columnarCase(q)
        const parts = closedAndTail(c)
        const candidates = candidatesOf(c.dicts, parts[0], c.query.filters, Infinity)
        // Some with a pass per day (a site whose dictionaries are large).
        const days = new DayTallies(unbounded, q.seed % 3 === 0 ? 1 : undefined)
        const input = { ...c, parts, candidates }
        expect(await days.report('site', input, here)).toEqual(c.expected)
        // Again, from the tallies the first query built: every day kept, none built again.
        await days.settled()
        let builds = 0
        const built: ScanTallies = async (p, specs, cands, byDay) => {
          if (byDay) builds++
          return here(p, specs, cands, byDay)
        }
        expect(await days.report('site', input, built)).toEqual(c.expected)
        expect(builds).toBe(0)
      }),
      { seed: 2607, numRuns: 300 },
    )
  })

  it('adds kept days into other periods of the same filters, and keeps them within its room', async () => {
    const dicts = new Dictionaries('Europe/Berlin')
    const sessions = [21, 22, 23, 24].flatMap((seed) => recordWorld(seed, 40 * DAY_MS))
    const now = BASE
    // The open tail from five days before the period's end: its first day is scanned.
    const bound = now - 5 * DAY_MS
    const closed = columnarPart(
      dicts,
      sessions.filter((s) => s.end_time < bound),
    )
    const tail = columnarPart(
      dicts,
      sessions.filter((s) => s.end_time >= bound),
    )
    let room = Number.POSITIVE_INFINITY
    const days = new DayTallies(() => room)
    /** Per scan: its specs, and whether they were days scanned in one pass. */
    const scans: Array<{ specs: number; byDay: boolean }> = []
    const windows: number[] = []
    // The builds' scans (of the closed part alone, in one pass) wait for `held`.
    let held: Promise<void> = Promise.resolve()
    const counting: ScanTallies = async (parts, specs, candidates, byDay) => {
      scans.push({ specs: specs.length, byDay: byDay === true })
      if (!byDay) windows.push(...specs.map((spec) => spec.readWin.to - spec.readWin.from))
      if (parts[1].sessions === 0) await held
      return here(parts, specs, candidates, byDay)
    }
    const ask = async (params: Record<string, unknown>, filter = 'source:Google') => {
      const query = buildStatsQuery(
        StatsParamsSchema.parse({ site: 'site', filter: [filter], ...params }),
        dicts.timeZone,
        now,
      )
      const input = {
        dicts,
        parts: [closed, tail] as [ColumnarPart, ColumnarPart],
        query,
        recordSince: null,
        candidates: candidatesOf(dicts, closed, query.filters, Infinity),
      }
      expect(await days.report('site', input, counting)).toEqual(columnarReport(input))
    }
    await ask({ period: '30d' })
    // The first ask builds its closed days in one pass (one scan, a spec a day), then adds
    // them: only what is left after them is scanned (a few days).
    expect(scans.length).toBe(2)
    expect(scans[0]).toEqual({ specs: expect.any(Number), byDay: true })
    expect(scans[0]?.specs).toBeGreaterThan(20)
    expect(scans[1]).toEqual({ specs: 1, byDay: false })
    for (const window of windows) expect(window).toBeLessThan(7 * DAY_MS)
    await days.settled()
    const kept = days.bytes()
    expect(kept).toBeGreaterThan(0)
    scans.length = 0
    windows.length = 0
    await ask({ period: '7d' })
    await ask({ period: '30d' })
    // Every closed day of both was kept.
    expect(scans).toEqual([
      { specs: 1, byDay: false },
      { specs: 1, byDay: false },
    ])
    for (const window of windows) expect(window).toBeLessThan(7 * DAY_MS)
    await days.settled()
    expect(days.bytes()).toBe(kept)
    // The previous period's days are built in one pass too, then both periods added.
    scans.length = 0
    await ask({ period: '30d', compare: 'previous' })
    expect(scans.map((scan) => scan.byDay)).toEqual([true, false])
    expect(scans[1]?.specs).toBe(1)
    expect(days.bytes()).toBeGreaterThan(kept)
    scans.length = 0
    await ask({ period: '30d', compare: 'previous' })
    // Now both from kept days: only the current period's rest is scanned.
    expect(scans).toEqual([{ specs: 1, byDay: false }])
    // Asks of a filter set while its build runs wait for it, then add its days: none scans
    // the window whole, and the days are built once.
    let release = () => {}
    held = new Promise((resolve) => {
      release = resolve
    })
    scans.length = 0
    windows.length = 0
    const asks = [
      ask({ period: '30d' }, 'browser:Firefox'),
      ask({ period: '30d' }, 'browser:Firefox'),
      ask({ period: '7d' }, 'browser:Firefox'),
    ]
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(scans).toEqual([{ specs: expect.any(Number), byDay: true }])
    release()
    await Promise.all(asks)
    expect(scans.filter((scan) => scan.byDay).length).toBe(1)
    expect(scans.length).toBe(4)
    for (const window of windows) expect(window).toBeLessThan(7 * DAY_MS)
    // A build that fails leaves its days missing: that answer scans its window whole, the
    // same, and the next ask builds them.
    let fail = true
    const built = days.bytes()
    const failing: ScanTallies = async (parts, specs, candidates, byDay) => {
      if (byDay && fail) throw new Error('no scan')
      return counting(parts, specs, candidates, byDay)
    }
    const input = (filter: string) => {
      const query = buildStatsQuery(
        StatsParamsSchema.parse({ site: 'site', filter: [filter], period: '30d' }),
        dicts.timeZone,
        now,
      )
      return {
        dicts,
        parts: [closed, tail] as [ColumnarPart, ColumnarPart],
        query,
        recordSince: null,
        candidates: candidatesOf(dicts, closed, query.filters, Infinity),
      }
    }
    const device = input('device:mobile')
    expect(await days.report('site', device, failing)).toEqual(columnarReport(device))
    expect(days.bytes()).toBe(built)
    fail = false
    expect(await days.report('site', device, failing)).toEqual(columnarReport(device))
    expect(days.bytes()).toBeGreaterThan(built)
    // A query still holding a replaced closed part keeps no days: it scans plainly rather
    // than build a month of days for itself.
    days.carry('site', columnarPart(dicts, []), { from: 0, to: 0 })
    scans.length = 0
    windows.length = 0
    await ask({ period: '30d' })
    expect(scans).toEqual([{ specs: 1, byDay: false }])
    expect(windows[0]).toBeGreaterThan(29 * DAY_MS)
    // No room: the least recently used go, answers stay the same.
    room = 0
    await ask({ period: '30d' })
    expect(days.bytes()).toBe(0)
  })
})

describe('scanDayTallies', () => {
  it('gives each day the tally of its own scan, figure for figure, over random cases', () => {
    fc.assert(
      fc.property(columnarCaseArb, fc.integer({ min: 0, max: 2 ** 30 }), (q, holes) => {
        const c = columnarCase(q)
        const parts = closedAndTail(c)
        const tz = c.dicts.timeZone
        const totals = tallySpecs(c.dicts, c.query)[0]?.totalsWindow
        if (!totals) throw new Error('no spec')
        // Whole local days of the period's last 12 and two days past it, some left out (a
        // build scans only the days not kept yet).
        const from = startOfLocalDay(
          localDay(Math.max(totals.from, totals.to - 12 * DAY_MS), tz),
          tz,
        )
        const days = daysBefore({ from, to: totals.to + 2 * DAY_MS }, Infinity, tz).filter(
          (_, i) => i % 3 === 0 || ((holes >>> i) & 1) === 1,
        )
        const base = tallySpecs(c.dicts, c.query)[0]
        if (!base) throw new Error('no spec')
        const specs = days.map((day) => daySpec(base, day, c.dicts.days.size))
        const candidates = candidatesOf(c.dicts, parts[0], c.query.filters, Infinity)
        const asked = [
          { share: ALL_VISITORS, cands: null },
          { share: { index: 1, of: 2, blockBits: 0 }, cands: candidates },
        ]
        for (const { share, cands } of asked) {
          const one = specs.map((spec) => scanTally(spec, parts, share, cands))
          expect(scanDayTallies(specs, parts, share, cands)).toEqual(one)
        }
      }),
      { seed: 2609, numRuns: 100 },
    )
  })
})

describe('DayTallies on scan workers', () => {
  const pools: ScanPool[] = []
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()))
  })

  it('equal filteredReport with 2 workers building and reading the kept days', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() }
    const pool = new ScanPool({ threads: 2, logger, shareBlockBits: 0 })
    pools.push(pool)
    await fc.assert(
      fc.asyncProperty(columnarCaseArb, async (q) => {
        const c = columnarCase(q)
        const parts = closedAndTail(c)
        const candidates = candidatesOf(c.dicts, parts[0], c.query.filters, Infinity)
        const days = new DayTallies(unbounded)
        // The days built on the workers in one pass (`byDay`), each worker a share.
        let builds = 0
        const scan: ScanTallies = (p, specs, cands, byDay) => {
          if (byDay) builds++
          return pool.tallies('site', p, specs, cands, byDay)
        }
        const input = { ...c, parts, candidates }
        expect(await days.report('site', input, scan)).toEqual(c.expected)
        await days.settled()
        const built = builds
        expect(await days.report('site', input, scan)).toEqual(c.expected)
        expect(builds).toBe(built)
      }),
      { seed: 2608, numRuns: 40 },
    )
    expect(logger.warn).not.toHaveBeenCalled()
    expect(logger.error).not.toHaveBeenCalled()
  })
})
