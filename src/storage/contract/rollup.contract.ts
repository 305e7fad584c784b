import { beforeEach, describe, expect, it } from 'vitest'
import { hourBucket } from '../../core/calendar.ts'
import { DIMENSIONS } from '../../core/rollup-deltas.ts'
import type { EnrichedEvent } from '../../core/types.ts'
import { rollUpBatch, rollUpPending } from '../../rollup/roll-up-batch.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import type { Store } from '../store.ts'
import { MIN, NO_COUNTS, type OpenStore, ROLLUP, site, T0, useContractStore } from './harness.ts'

/** Everything a roll-up leaves behind that a reader can see, for comparing two stores. */
async function everything(store: Store, clients: readonly string[]) {
  const day = '2026-01-15'
  const dims = await Promise.all(
    ['', ...DIMENSIONS].map((dim) =>
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

/** What a roll-up unit reads and writes, and that it counts once whatever fails. */
export function rollupContract(open: OpenStore) {
  describe('roll-up units', () => {
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

    it("counts versions of a site's counters: each write that changes them, no other", async () => {
      expect(await store.countersVersion('site-a')).toBe(0)
      const delta = (site_id: string) => ({
        key: { grain: 'day' as const, site_id, bucket: '2026-01-15', dim: '', value: '' },
        counters: { ...NO_COUNTS, pageviews: 1 },
      })
      const write = (deltas: ReturnType<typeof delta>[]) =>
        store.rollup((unit) => unit.write({ sessions: [], deltas }))
      await write([delta('site-a'), delta('site-a')])
      const first = await store.countersVersion('site-a')
      expect(first).toBeGreaterThan(0)
      await write([])
      await write([delta('site-b')])
      expect(await store.countersVersion('site-a')).toBe(first)
      expect(await store.countersVersion('site-b')).toBeGreaterThan(0)
      await write([delta('site-a')])
      expect(await store.countersVersion('site-a')).toBeGreaterThan(first)
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
      const last = batch.at(-1)
      const applied = await store.rollup((unit) => unit.appliedThrough([last?.stream ?? '']))
      expect(applied.get(last?.stream ?? '')).toBe(last?.position)
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
}
