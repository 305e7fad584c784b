import fc from 'fast-check'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { HOUR_MS } from '../core/calendar.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { type ColumnarCase, columnarCase, columnarCaseArb } from '../testing/columnar-cases.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { type ColumnarPart, columnarPart, Dictionaries, mergeParts } from './columnar-record.ts'
import { columnarReport } from './columnar-report.ts'
import { ScanPool } from './scan-pool.ts'

/** A case's parts as the pool takes them: the closed part and the open tail. */
function closedAndTail(c: ColumnarCase): readonly [ColumnarPart, ColumnarPart] {
  const [a, b, more] = c.parts as [ColumnarPart, ColumnarPart?, ColumnarPart?]
  if (!b) return [a, columnarPart(c.dicts, [])]
  return more ? [mergeParts(a, b), more] : [a, b]
}

const silent = () => ({ warn: vi.fn(), error: vi.fn() })

describe('ScanPool', () => {
  const pools: ScanPool[] = []
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()))
  })

  for (const threads of [1, 2, 3]) {
    it(`equals filteredReport with ${threads} worker(s), a part sent once and asked again`, async () => {
      const logger = silent()
      const pool = new ScanPool({ threads, logger, shareBlockBits: 0 })
      pools.push(pool)
      await fc.assert(
        fc.asyncProperty(columnarCaseArb, async (q) => {
          const c = columnarCase(q)
          const input = { ...c, parts: closedAndTail(c) }
          expect(await pool.report('site', input)).toEqual(c.expected)
          // The workers hold the closed part now: it is not sent again.
          expect(await pool.report('site', input)).toEqual(c.expected)
        }),
        { seed: 26 + threads, numRuns: 60 },
      )
      // Answered by the workers, not by the fallback on this thread.
      expect(logger.warn).not.toHaveBeenCalled()
      expect(logger.error).not.toHaveBeenCalled()
    })
  }

  const bigCase = () => {
    const dicts = new Dictionaries('UTC')
    const sessions = recordWorld(11, 5 * 24 * HOUR_MS)
    const query = buildStatsQuery(
      StatsParamsSchema.parse({ site: 'site', period: '7d', filter: ['source:Google'] }),
      'UTC',
      BASE,
    )
    const parts = [columnarPart(dicts, sessions), columnarPart(dicts, [])] as const
    return { dicts, parts, query, recordSince: null }
  }

  it('leaves this thread free while a scan is under way', async () => {
    // Each scan waits for this thread to open its gate from a timer: the report comes only
    // if the thread ran the timer while the workers were scanning.
    const hold = new Int32Array(new SharedArrayBuffer(4))
    const pool = new ScanPool({
      threads: 2,
      logger: silent(),
      module: new URL('../testing/held-scan-worker.ts', import.meta.url),
      workerData: { hold },
    })
    pools.push(pool)
    const input = bigCase()
    const events: string[] = []
    const report = pool.report('site', input).then((r) => {
      events.push('report')
      return r
    })
    setTimeout(() => {
      events.push('timer')
      Atomics.store(hold, 0, 1)
      Atomics.notify(hold, 0)
    }, 0)
    expect(await report).toEqual(columnarReport(input))
    expect(events).toEqual(['timer', 'report'])
  })

  it('answers on this thread, and logs, when a worker dies', async () => {
    const logger = silent()
    const pool = new ScanPool({
      threads: 2,
      logger,
      module: new URL('../testing/exiting-scan-worker.ts', import.meta.url),
    })
    pools.push(pool)
    const input = bigCase()
    const expected = columnarReport(input)
    expect(await pool.report('site', input)).toEqual(expected)
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ site: 'site' }),
      expect.stringMatching(/scanned on the HTTP thread/),
    )
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ code: 9 }),
      'record scan worker exited',
    )
    // Both down for a second: scanned here meanwhile, still the same answer.
    expect(await pool.report('site', input)).toEqual(expected)
  })

  it('ends a worker that does not answer, and answers on this thread', async () => {
    const logger = silent()
    // The gate is never opened: the scans hang until the pool gives up on them.
    const pool = new ScanPool({
      threads: 1,
      logger,
      module: new URL('../testing/held-scan-worker.ts', import.meta.url),
      workerData: { hold: new Int32Array(new SharedArrayBuffer(4)) },
      timeoutMs: 200,
    })
    pools.push(pool)
    const input = bigCase()
    expect(await pool.report('site', input)).toEqual(columnarReport(input))
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ worker: 'record scan worker 1' }),
      'record scan worker did not answer',
    )
  })
})
