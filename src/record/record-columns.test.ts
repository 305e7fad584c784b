import { describe, expect, it } from 'vitest'
import { DAY_MS, HOUR_MS } from '../core/calendar.ts'
import { MAX_AGE_MS } from '../core/parse-event.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { type ColumnsStore, RecordColumns } from './record-columns.ts'
import { recordReport } from './record-report.ts'
import { ScanPool } from './scan-pool.ts'
import type { RecordSession } from './session-record.ts'

/** A store over a list of sessions, counting its reads. */
class FakeStore implements ColumnsStore {
  reads: Array<[number, number]> = []
  generation = 0
  version = 1
  pending: number | null = null
  constructor(public sessions: RecordSession[]) {}
  async recordSessions(_site: string, from: number, to: number) {
    this.reads.push([from, to])
    return this.sessions.filter((s) => s.start_time <= to && s.end_time >= from)
  }
  async recordSince() {
    return this.sessions.some((s) => s.events === null) ? BASE - 5 * DAY_MS : null
  }
  async oldestPendingAcceptedAt() {
    return this.pending
  }
  async countersVersion() {
    return this.version
  }
  recordGeneration() {
    return String(this.generation)
  }
}

const logger = { warn: () => {}, info: () => {} }
const TIMEOUT = 30 * 60_000

function query(params: Record<string, unknown>, zone: string, now: number) {
  return buildStatsQuery(StatsParamsSchema.parse({ site: 'site', ...params }), zone, now)
}

const ASKED = [
  { period: '7d' },
  { period: '30d', filter: 'source:Google' },
  { period: 'today', filter: ['page:/docs', 'country!:DE'] },
  { period: '24h', props: 'plan' },
  { period: '30d', compare: 'previous', filter: 'prop.plan:pro' },
]

describe('RecordColumns', () => {
  it.each([
    ['on this thread', 0],
    ['on two scan workers', 2],
  ])(
    'answers as the direct read while time passes, queries reach back, and users are deleted (%s)',
    async (_, threads) => {
      const sessions = recordWorld(7, 20 * DAY_MS)
      const store = new FakeStore(sessions)
      let now = BASE - 4 * DAY_MS
      const failures: unknown[] = []
      const scanPool =
        threads > 0
          ? new ScanPool({
              threads,
              shareBlockBits: 0,
              logger: {
                warn: (f: unknown) => failures.push(f),
                error: (f: unknown) => failures.push(f),
              },
            })
          : undefined
      const columns = new RecordColumns(store, {
        maxBytes: 64 * 1024 * 1024,
        sessionTimeoutMs: TIMEOUT,
        now: () => now,
        logger,
        keepMs: 2 * DAY_MS,
        ...(scanPool ? { scanPool } : {}),
      })
      const check = async (zone = 'Europe/Berlin') => {
        for (const params of ASKED) {
          const q = query(params, zone, now)
          const before = store.reads.length
          const actual = await columns.report(q)
          columnReads.push(...store.reads.slice(before))
          expect(actual).toEqual(await recordReport(store, q))
        }
      }
      let columnReads: Array<[number, number]> = []
      await check()
      expect(columns.bytes()).toBeGreaterThan(0)
      // Later: the columns extend up; the tail stays small (within the collector's limit).
      for (let step = 0; step < 8; step++) {
        now += 9 * HOUR_MS
        await check()
      }
      // The roll-up writes a session of the last hour: the open tail is read again, and only it,
      // a day and some hours.
      const recent = sessions.find((s) => s.events !== null) as RecordSession
      const shift = now - HOUR_MS - recent.start_time
      store.sessions = [
        ...sessions,
        {
          ...recent,
          id: 'late',
          client_session_id: 'late',
          start_time: recent.start_time + shift,
          end_time: recent.end_time + shift,
          events: (recent.events ?? []).map((e) => ({ ...e, timestamp: e.timestamp + shift })),
        },
      ]
      store.version++
      columnReads = []
      await check()
      const tailFrom = Math.min(...columnReads.map(([from]) => from))
      expect(now - tailFrom).toBeLessThanOrEqual(MAX_AGE_MS + TIMEOUT + 4 * HOUR_MS)
      // Nothing written since: nothing read.
      columnReads = []
      await check()
      expect(columnReads).toEqual([])
      store.sessions = sessions
      // Only recent days asked while time passes: older days are let go, and read again when
      // asked.
      const heldBefore = columns.held()[0]?.sessions ?? 0
      for (let step = 0; step < 3; step++) {
        now += 3 * HOUR_MS
        const q = query({ period: 'today', filter: 'source:Google' }, 'Europe/Berlin', now)
        expect(await columns.report(q)).toEqual(await recordReport(store, q))
      }
      expect(columns.held()[0]?.sessions ?? 0).toBeLessThan(heldBefore)
      await check()
      // A deletion rewrites the past: the generation drops the columns.
      const victim = sessions[0]?.visitor_id
      store.sessions = sessions.filter((s) => s.visitor_id !== victim)
      store.generation++
      await check()
      // Another time zone, the roll-up far behind (its pending accepts reach back).
      await check('Pacific/Auckland')
      store.pending = now - 3 * DAY_MS
      await check('Pacific/Auckland')
      // The workers answered every query (none fell back to this thread).
      expect(failures).toEqual([])
      await scanPool?.close()
    },
  )

  it('reads directly what does not fit, and logs it once', async () => {
    const store = new FakeStore(recordWorld(11, 20 * DAY_MS))
    const warnings: unknown[] = []
    const now = BASE
    const columns = new RecordColumns(store, {
      maxBytes: 1000,
      sessionTimeoutMs: TIMEOUT,
      now: () => now,
      logger: { info: () => {}, warn: (fields: unknown) => warnings.push(fields) },
    })
    for (const params of ASKED) {
      const q = query(params, 'UTC', now)
      expect(await columns.report(q)).toEqual(await recordReport(store, q))
    }
    expect(columns.bytes()).toBe(0)
    expect(warnings).toHaveLength(1)
  })
})
