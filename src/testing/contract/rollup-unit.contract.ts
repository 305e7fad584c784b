import { beforeEach, describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { ROW_DIMENSIONS, type RowDimension } from '../../core/rollup-deltas.ts'
import type { EnrichedEvent } from '../../core/types.ts'
import { rollUpBatch, rollUpPending } from '../../rollup/roll-up-batch.ts'
import type { Store } from '../../storage/store.ts'
import { acceptAndRollUp } from '../accept-and-roll-up.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, type OpenStore, ROLLUP, site, T0, total, useContractStore } from './harness.ts'

/** Everything a roll-up leaves behind that a reader can see, for comparing two stores. */
async function everything(store: Store, clients: readonly string[]) {
  const day = '2026-01-15'
  const dims = await Promise.all(
    ROW_DIMENSIONS.map((dim) =>
      store.readRollups({ grain: 'day', site_id: site.id, dim, from: day, to: day }),
    ),
  )
  const hours = await store.readRollups({
    grain: 'hour',
    site_id: site.id,
    dim: '',
    from: hourBucket(T0) - 1,
    to: hourBucket(T0) + 2,
  })
  const sessions = await Promise.all(
    clients.map((client) => store.findSession(site.id, client, T0 + 10 * MIN)),
  )
  return { dims, hours, sessions, backlog: await store.backlog() }
}

/**
 * RollupQueue's `rollup`: what a unit reads and writes, that it counts once whatever fails,
 * and the sessions and counters the roll-up makes of events through it.
 */
export function rollupUnitContract(open: OpenStore) {
  describe('RollupQueue: roll-up units', () => {
    const t = useContractStore(open)
    const { commit, dim } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('finds overlapping sessions and claims each mark once', async () => {
      await commit([enrichedEvent({ event_id: 'a', client_session_id: 'c1', timestamp: T0 })])
      await store.rollup(async (unit) => {
        const near = await unit.sessionsFor([
          { site_id: 'site-a', client_session_id: 'c1', from: T0 - MIN, to: T0 + MIN },
        ])
        expect(near.map((s) => s.client_session_id)).toEqual(['c1'])
        const far = await unit.sessionsFor([
          { site_id: 'site-a', client_session_id: 'c1', from: T0 + MIN, to: T0 + 2 * MIN },
        ])
        expect(far).toEqual([])
        const mark = { site_id: 'site-a', day: '2026-01-15', scope: 'x', visitor_id: 'v9' }
        expect(await unit.claimMarks([mark, { ...mark, scope: 'y' }])).toEqual([true, true])
        expect(await unit.claimMarks([mark])).toEqual([false])
        // The same mark twice in one call (a history import does not dedupe first).
        const again = { ...mark, scope: 'z' }
        expect(await unit.claimMarks([again, { ...again }])).toEqual([true, false])
        await unit.write({ sessions: [], deltas: [] })
      })
    })

    it('adds counter deltas to what is stored (upserts add)', async () => {
      const key = { grain: 'day' as const, site_id: 'site-a', bucket: '2026-01-15' }
      const counters = {
        pageviews: 3,
        visitors: 1,
        sessions: 1,
        bounces: 0,
        duration_ms: 500,
        events: 0,
        bots: 0,
      }
      for (const _ of [1, 2]) {
        await store.rollup((unit) =>
          unit.write({
            sessions: [],
            deltas: [{ key: { ...key, dim: 'page', value: '/x' }, counters }],
          }),
        )
      }
      const rows = await dim('page')
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ value: '/x', pageviews: 6, visitors: 2, duration_ms: 1000 })
    })

    it('counts a batch once, however often it is delivered', async () => {
      await store.accept(
        ['a', 'b', 'c'].map((id, i) =>
          enrichedEvent({ event_id: id, timestamp: T0 + i * MIN, path: `/${id}` }),
        ),
        [{ site_id: site.id, timezone: 'UTC', timestamp: T0 }],
      )
      const batch = await store.pending(10)
      const options = { ...ROLLUP, newSessionId: t.newSessionId }
      expect(await rollUpBatch(store, batch, options)).toBe(4)
      const once = await everything(store, ['client-1'])
      expect(once.dims[0]?.[0]).toMatchObject({ pageviews: 3, sessions: 1, visitors: 1, bots: 1 })
      // Delivered again whole, and again split (a Lambda retry, a bisected batch).
      expect(await rollUpBatch(store, batch, options)).toBe(0)
      expect(await rollUpBatch(store, batch.slice(1, 2), options)).toBe(0)
      expect(await everything(store, ['client-1'])).toEqual(once)
      expect(await store.rollup((unit) => unit.uncounted(batch))).toEqual([])
    })

    it('counts exactly once when a write fails half-way and the unit is redone', async () => {
      // Two stores: one rolls up cleanly, the other has a write fail half-way first.
      const clean = t.harness
      const faulty = await open()
      try {
        await faulty.store.createSite(site)
        const view = (id: string, minute: number, client: string, visitor: string, path: string) =>
          enrichedEvent({
            event_id: id,
            timestamp: T0 + minute * MIN,
            client_session_id: client,
            visitor_id: visitor,
            path,
          })
        // Stored before: a one-page session (a bounce) of visitor v1.
        const before: EnrichedEvent[] = [view('a', 0, 'c1', 'v1', '/a')]
        // The unit that fails: it extends that session (no longer a bounce), opens a session
        // for a new visitor, and a later one for v1 (a visitor already marked that day).
        const unit: EnrichedEvent[] = [
          view('b', 2, 'c1', 'v1', '/b'),
          view('c', 3, 'c2', 'v2', '/a'),
          view('d', 50, 'c3', 'v1', '/c'),
        ]
        const runs = [clean, faulty].map((harness) => {
          let ids = 0
          const options = { ...ROLLUP, newSessionId: () => `s-${++ids}` }
          return { harness, options }
        })
        for (const { harness, options } of runs) {
          await harness.store.accept(before, [])
          await rollUpPending(harness.store, options, 100)
          await harness.store.accept(unit, [])
        }
        const [cleanRun, faultyRun] = runs as [(typeof runs)[0], (typeof runs)[0]]
        await rollUpPending(cleanRun.harness.store, cleanRun.options, 100)

        faulty.failNextRollupWriteHalfway()
        await expect(rollUpPending(faulty.store, faultyRun.options, 100)).rejects.toThrow()
        await faulty.reopenAfterFailure?.()
        // The redo recomputes from what is stored: nothing of the failed write may show.
        await rollUpPending(faulty.store, faultyRun.options, 100)

        const clients = ['c1', 'c2', 'c3']
        const expected = await everything(clean.store, clients)
        expect(expected.dims[0]?.[0]).toMatchObject({
          pageviews: 4,
          sessions: 3,
          bounces: 2,
          visitors: 2,
        })
        const redone = await everything(faulty.store, clients)
        // Session ids are drawn anew by the redo; everything else must match.
        const withoutIds = (all: typeof expected) => ({
          ...all,
          sessions: all.sessions.map((s) => ({ ...s, id: '' })),
        })
        expect(withoutIds(redone)).toEqual(withoutIds(expected))
      } finally {
        await faulty.cleanup()
      }
    })
  })

  describe('RollupQueue: sessions and counters through the roll-up', () => {
    const t = useContractStore(open)
    const { commit, dayTotals, dim } = t
    let store: Store
    beforeEach(() => {
      store = t.store
    })

    it('turns a bounce into a two-page session when a later page view arrives', async () => {
      await commit([enrichedEvent({ timestamp: T0, path: '/a' })])
      let totals = await dayTotals()
      expect(totals[0]).toMatchObject({ pageviews: 1, sessions: 1, bounces: 1, visitors: 1 })

      await commit([enrichedEvent({ timestamp: T0 + 2 * MIN, path: '/b' })])
      totals = await dayTotals()
      expect(totals[0]).toMatchObject({
        pageviews: 2,
        sessions: 1,
        bounces: 0,
        visitors: 1,
        duration_ms: 2 * MIN,
      })
      const exits = await dim('exit_page')
      expect(exits.filter((r) => r.sessions !== 0).map((r) => [r.value, r.sessions])).toEqual([
        ['/b', 1],
      ])
    })

    it('ends with the same sessions and counters whatever order events arrive in', async () => {
      // site-a gets three page views 20 minutes apart in one batch; site-b gets the same
      // views, but the middle one late, after the two outer ones were stored as two sessions.
      await store.createSite({ ...site, id: 'site-b', api_key: 'key-site-b-0123456789' })
      const view = (siteId: string, minutes: number, path: string) =>
        enrichedEvent({
          site_id: siteId,
          event_id: `${siteId}-${minutes}`,
          timestamp: T0 + minutes * MIN,
          path,
        })
      await commit([view('site-a', 0, '/a'), view('site-a', 20, '/b'), view('site-a', 40, '/c')])
      await commit([view('site-b', 0, '/a'), view('site-b', 40, '/c')])
      await commit([view('site-b', 20, '/b')])

      const day = '2026-01-15'
      const shape = async (siteId: string) => {
        const range = { grain: 'day' as const, site_id: siteId, from: day, to: day }
        const top = async (dimName: RowDimension) =>
          (await store.topValues({ ...range, dim: dimName, orderBy: 'sessions', limit: 10 })).map(
            (r) => [r.value, r.sessions, r.bounces, r.pageviews],
          )
        const [totals] = await store.readRollups({ ...range, dim: '' })
        const session = await store.findSession(siteId, 'client-1', T0 + 40 * MIN)
        return {
          totals: [totals?.sessions, totals?.pageviews, totals?.bounces, totals?.duration_ms],
          entry: await top('entry_page'),
          exit: await top('exit_page'),
          session: [session?.start_time, session?.end_time, session?.pageviews],
          timeline: (await store.sessionEvents(session?.id ?? '')).map((e) => e.path),
        }
      }
      const inOrder = await shape('site-a')
      expect(inOrder.totals).toEqual([1, 3, 0, 40 * MIN])
      expect(inOrder.session).toEqual([T0, T0 + 40 * MIN, 3])
      expect(inOrder.timeline).toEqual(['/a', '/b', '/c'])
      expect(await shape('site-b')).toEqual(inOrder)
    })

    it('starts a new session after a 31-minute gap and keeps one across 29 minutes', async () => {
      await commit([
        enrichedEvent({ timestamp: T0 }),
        enrichedEvent({ timestamp: T0 + 29 * MIN }),
        enrichedEvent({ timestamp: T0 + 60 * MIN }),
      ])
      const totals = await dayTotals()
      expect(totals[0]).toMatchObject({ pageviews: 3, sessions: 2, bounces: 1, visitors: 1 })
      expect(totals[0]?.duration_ms).toBe(29 * MIN)
    })

    it('counts a visitor once a day for the site and for each page', async () => {
      await commit([
        enrichedEvent({ timestamp: T0, path: '/a', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + MIN, path: '/a', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + 2 * MIN, path: '/b', client_session_id: 's1' }),
        // Same visitor, a second session later that day.
        enrichedEvent({ timestamp: T0 + 5 * 60 * MIN, path: '/a', client_session_id: 's2' }),
        enrichedEvent({
          timestamp: T0 + 3 * MIN,
          path: '/a',
          client_session_id: 's3',
          visitor_id: 'visitor-2',
        }),
      ])
      expect((await dayTotals())[0]).toMatchObject({ visitors: 2, sessions: 3, pageviews: 5 })
      const pages = await dim('page')
      expect(pages.map((r) => [r.value, r.pageviews, r.visitors])).toEqual([
        ['/a', 4, 2],
        ['/b', 1, 1],
      ])
      // Hours sum to the day: each visitor counted in the hour they first showed up.
      const hours = await store.readRollups({
        grain: 'hour',
        site_id: 'site-a',
        dim: '',
        from: hourBucket(T0),
        to: hourBucket(T0) + 23,
      })
      expect(total(hours, 'visitors')).toBe(2)
      expect(total(hours, 'pageviews')).toBe(5)
    })

    it('writes no hourly dimension rows for hours its last sweep already passed', async () => {
      // The sweep ran a week later: hourly dimension rows before (then - 72 h) are gone.
      await store.sweep({ now: T0 + 7 * 24 * 60 * MIN, eventTtlMs: 24 * 60 * MIN })
      await commit([
        enrichedEvent({ event_id: 'old', timestamp: T0, path: '/late' }),
        enrichedEvent({ event_id: 'new', timestamp: T0 + 6 * 24 * 60 * MIN, path: '/late' }),
      ])
      const hours = (dimName: RowDimension, at: number) =>
        store.readRollups({
          grain: 'hour',
          site_id: 'site-a',
          dim: dimName,
          from: hourBucket(at),
          to: hourBucket(at),
        })
      // The old hour keeps its site total (charts of any past day) but no page or source rows.
      expect((await hours('', T0))[0]).toMatchObject({ pageviews: 1, visitors: 1 })
      expect(await hours('page', T0)).toEqual([])
      expect(await hours('source', T0)).toEqual([])
      // Its day rows are complete, and a recent hour keeps its dimension rows.
      expect((await dim('page')).map((r) => [r.value, r.pageviews])).toEqual([['/late', 1]])
      const recent = T0 + 6 * 24 * 60 * MIN
      expect((await hours('page', recent)).map((r) => [r.value, r.pageviews])).toEqual([
        ['/late', 1],
      ])
    })

    it('counts bots without storing them as events or visitors', async () => {
      await acceptAndRollUp(store, [], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }], {
        ...ROLLUP,
        newSessionId: () => 'unused',
      })
      expect((await dayTotals())[0]).toMatchObject({ bots: 1, visitors: 0, pageviews: 0 })
    })

    it('puts day rows on the site-local calendar day', async () => {
      // 20:00 UTC on Jan 15 is already Jan 16 in Seoul (+9).
      const late = Date.UTC(2026, 0, 15, 20, 0, 0)
      await commit([enrichedEvent({ timestamp: late, timezone: 'Asia/Seoul' })])
      expect(await dayTotals('2026-01-15')).toEqual([])
      expect((await dayTotals('2026-01-16'))[0]?.pageviews).toBe(1)
    })
  })
}
