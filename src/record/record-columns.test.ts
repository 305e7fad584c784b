import { describe, expect, it } from 'vitest'
import { DAY_MS, HOUR_MS } from '../core/calendar.ts'
import { MAX_AGE_MS } from '../core/parse-event.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { ColumnsSnapshots, type SnapshotIdentity } from './columns-snapshot.ts'
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
  identity: SnapshotIdentity | null = { rewrites: 0, nextOrd: 1000 }
  recordIdentity() {
    return this.identity
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
      // The filters' days are built after their first asks (day-tallies.ts).
      await columns.settled()
      expect(columns.bytes()).toBeGreaterThan(0)
      // Later: the columns extend up; the tail stays small (within the collector's limit).
      for (let step = 0; step < 8; step++) {
        now += 9 * HOUR_MS
        const kept = columns.held()[0]?.day_tally_bytes ?? 0
        expect(kept).toBeGreaterThan(0)
        // Extended: the filters' days whose sessions did not change are carried over (and
        // the answers below, after them, still equal the direct read).
        await columns.warm('site', 'Europe/Berlin', now - 30 * DAY_MS)
        const carried = columns.held()[0]?.day_tally_bytes ?? 0
        expect(carried).toBeGreaterThan(0)
        expect(carried).toBeLessThanOrEqual(kept)
        await check()
        await columns.settled()
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

  it('counts the candidate lists in its memory, and scans every visitor when they do not fit', async () => {
    const store = new FakeStore(recordWorld(12, 20 * DAY_MS))
    const now = BASE
    const options = {
      maxBytes: 64 * 1024 * 1024,
      sessionTimeoutMs: TIMEOUT,
      now: () => now,
      logger,
    }
    const roomy = new RecordColumns(store, options)
    // Back far enough for every query asked (30 days compared): the part is not replaced by
    // an extension, which would let its lists go with it.
    await roomy.warm('site', 'UTC', now - 70 * DAY_MS)
    const [bare] = roomy.held()
    expect(bare?.index_bytes).toBe(0)
    for (const params of ASKED) {
      const q = query(params, 'UTC', now)
      expect(await roomy.report(q)).toEqual(await recordReport(store, q))
    }
    // source: and page: were asked: their lists are held, and counted (and, once built after
    // the first asks, their days' tallies).
    await roomy.settled()
    const [held] = roomy.held()
    expect(held?.index_bytes).toBeGreaterThan(0)
    expect(held?.day_tally_bytes).toBeGreaterThan(0)
    expect(held?.bytes).toBe(
      (bare?.bytes ?? 0) + (held?.index_bytes ?? 0) + (held?.day_tally_bytes ?? 0),
    )
    expect(roomy.bytes()).toBe(held?.bytes)
    // Room for the columns but not the lists: the same answers, no list built.
    const tight = new RecordColumns(store, { ...options, maxBytes: bare?.bytes ?? 0 })
    await tight.warm('site', 'UTC', now - 70 * DAY_MS)
    for (const params of ASKED) {
      const q = query(params, 'UTC', now)
      expect(await tight.report(q)).toEqual(await recordReport(store, q))
    }
    await tight.settled()
    expect(tight.held()[0]?.index_bytes).toBe(0)
    expect(tight.held()[0]?.day_tally_bytes).toBe(0)
    expect(tight.held()[0]?.sessions).toBe(bare?.sessions)
  })

  it('reads back its saved columns in a new process, unless the record moved on from them', async () => {
    const dir = tempDir()
    try {
      const sessions = recordWorld(5, 20 * DAY_MS)
      const store = new FakeStore(sessions)
      const now = BASE
      const snapshots = new ColumnsSnapshots(dir.path)
      const loaded: Array<{ restored?: boolean }> = []
      /** Every process made: each may still be saving its copy when the test ends. */
      const made: RecordColumns[] = []
      const process = () => {
        loaded.length = 0
        const columns = new RecordColumns(store, {
          maxBytes: 64 * 1024 * 1024,
          sessionTimeoutMs: TIMEOUT,
          now: () => now,
          logger: { warn: () => {}, info: (fields: object) => loaded.push(fields) },
          snapshots,
        })
        made.push(columns)
        return columns
      }
      /** Every asked query answered as the direct read; returns the columns' own reads. */
      const answers = async (columns: RecordColumns) => {
        const reads: Array<[number, number]> = []
        for (const params of ASKED) {
          const q = query(params, 'UTC', now)
          const before = store.reads.length
          const actual = await columns.report(q)
          reads.push(...store.reads.slice(before))
          expect(actual).toEqual(await recordReport(store, q))
        }
        return reads
      }
      const first = process()
      await answers(first)
      expect(loaded[0]).toMatchObject({ restored: false })
      await first.whenSaved()
      // A new process reads the copy: the store only for the tail, not the month again.
      const reads = await answers(process())
      expect(loaded[0]).toMatchObject({ restored: true })
      const copy = (await snapshots.load('site')) as NonNullable<
        Awaited<ReturnType<ColumnsSnapshots['load']>>
      >
      const earliestRead = Math.min(...reads.map(([from]) => from))
      expect(earliestRead).toBeGreaterThanOrEqual(copy.upper - 2 * DAY_MS)
      // A database restored from an older backup holds fewer recorded events: not a copy of it.
      store.identity = { rewrites: 0, nextOrd: 10 }
      await answers(process())
      expect(loaded[0]).toMatchObject({ restored: false })
      // A user's deletion rewrote the past after the copy was saved: not a copy any more.
      store.identity = { rewrites: 1, nextOrd: 2000 }
      const victim = sessions[0]?.visitor_id
      store.sessions = sessions.filter((s) => s.visitor_id !== victim)
      await answers(process())
      expect(loaded[0]).toMatchObject({ restored: false })
      // Their copies are written in the background: the folder goes once they are.
      await Promise.all(made.map((columns) => columns.whenSaved()))
    } finally {
      dir.remove()
    }
  })
})
