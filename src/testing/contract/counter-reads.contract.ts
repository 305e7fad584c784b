import { beforeEach, describe, expect, it } from 'vitest'
import { addDays, hourBucket } from '../../core/calendar.ts'
import type { RollupKey } from '../../core/types.ts'
import type { Store } from '../../storage/store.ts'
import { enrichedEvent } from '../enriched-event.ts'
import { MIN, NO_COUNTS, type OpenStore, T0, useContractStore } from './harness.ts'

/** CounterReads: range reads, top values over ranges, the counters' version. */
export function counterReadsContract(open: OpenStore) {
  describe('CounterReads: counters by range and top values', () => {
    const t = useContractStore(open)
    const { commit } = t
    let store: Store
    beforeEach(() => {
      store = t.store
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

    it('sums a dimension per value over a range, largest first, limited', async () => {
      await commit([
        enrichedEvent({ timestamp: T0, path: '/a', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + MIN, path: '/b', client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + 2 * MIN, path: '/a', client_session_id: 's1' }),
        enrichedEvent({
          timestamp: Date.UTC(2026, 0, 16, 9),
          path: '/a',
          client_session_id: 's2',
          visitor_id: 'visitor-2',
        }),
        enrichedEvent({
          timestamp: Date.UTC(2026, 0, 17, 9),
          path: '/c',
          client_session_id: 's3',
        }),
      ])
      const top = await store.topValues({
        grain: 'day',
        site_id: 'site-a',
        dim: 'page',
        from: '2026-01-15',
        to: '2026-01-16',
        orderBy: 'pageviews',
        limit: 10,
      })
      expect(top.map((r) => [r.value, r.pageviews, r.visitors])).toEqual([
        ['/a', 3, 2],
        ['/b', 1, 1],
      ])
      const first = await store.topValues({
        grain: 'hour',
        site_id: 'site-a',
        dim: 'page',
        from: hourBucket(T0),
        to: hourBucket(Date.UTC(2026, 0, 17, 9)),
        orderBy: 'pageviews',
        limit: 1,
      })
      expect(first.map((r) => r.value)).toEqual(['/a'])
      const onlyA = await store.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: 'page',
        from: '2026-01-01',
        to: '2026-01-31',
        value: '/a',
      })
      expect(onlyA.map((r) => [r.bucket, r.pageviews])).toEqual([
        ['2026-01-15', 2],
        ['2026-01-16', 1],
      ])
    })

    it('keeps a page path as long as a URL may be, and counts it apart from its neighbours', async () => {
      // URLs may be 2,048 characters: a path longer than any DynamoDB key.
      const long = `/docs/${'a'.repeat(2000)}`
      const twin = `/docs/${'a'.repeat(1999)}b`
      await commit([
        enrichedEvent({ timestamp: T0, path: long, client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + MIN, path: twin, client_session_id: 's1' }),
        enrichedEvent({ timestamp: T0 + 2 * MIN, path: long, client_session_id: 's2' }),
        enrichedEvent({ timestamp: T0 + 3 * MIN, path: '/a', client_session_id: 's3' }),
      ])
      const range = { site_id: 'site-a', from: '2026-01-15', to: '2026-01-15' }
      const top = await store.topValues({
        grain: 'day',
        dim: 'page',
        orderBy: 'pageviews',
        limit: 10,
        ...range,
      })
      expect(top.map((r) => [r.value, r.pageviews])).toEqual([
        [long, 2],
        ['/a', 1],
        [twin, 1],
      ])
      const rows = await store.readRollups({ grain: 'day', dim: 'page', ...range })
      expect(rows.map((r) => r.value)).toEqual(['/a', long, twin])
      const onlyLong = await store.readRollups({ grain: 'day', dim: 'page', value: long, ...range })
      expect(onlyLong.map((r) => r.pageviews)).toEqual([2])
      const entries = await store.topValues({
        grain: 'hour',
        dim: 'entry_page',
        orderBy: 'sessions',
        limit: 10,
        site_id: 'site-a',
        from: hourBucket(T0),
        to: hourBucket(T0),
      })
      expect(entries.map((r) => [r.value, r.sessions])).toEqual([
        [long, 2],
        ['/a', 1],
      ])
    })

    it('sums long ranges exactly, also after late counts for buckets long closed', async () => {
      // 70 days and 40 hours of page counts, written in time order as traffic arrives; then
      // late counts for old buckets. Every range must equal the plain sum of what was added.
      const model = new Map<string, Map<string, number>>()
      const add = async (entries: Array<[RollupKey, number]>) => {
        for (const [key, pageviews] of entries) {
          const at = `${key.grain}:${key.bucket}`
          const values = model.get(at) ?? new Map<string, number>()
          values.set(key.value, (values.get(key.value) ?? 0) + pageviews)
          model.set(at, values)
        }
        await store.rollup((unit) =>
          unit.write({
            sessions: [],
            deltas: entries.flatMap(([key, pageviews]) => [
              { key, counters: { ...NO_COUNTS, pageviews, visitors: 1 } },
              { key: { ...key, dim: '', value: '' }, counters: { ...NO_COUNTS, pageviews } },
            ]),
          }),
        )
      }
      const day = (i: number) => addDays('2026-01-01', i)
      const dayKey = (i: number, value: string): RollupKey => ({
        grain: 'day',
        site_id: 'site-a',
        bucket: day(i),
        dim: 'page',
        value,
      })
      const H0 = hourBucket(T0)
      const hourKey = (i: number, value: string): RollupKey => ({
        grain: 'hour',
        site_id: 'site-a',
        bucket: H0 + i,
        dim: 'page',
        value,
      })
      for (let i = 0; i < 70; i++) {
        await add([
          [dayKey(i, '/a'), 1 + (i % 5)],
          [dayKey(i, '/b'), 2 + (i % 3)],
          ...(i % 4 === 0 ? [[dayKey(i, '/c'), 7] as [RollupKey, number]] : []),
        ])
      }
      for (let i = 0; i < 40; i++) {
        await add([
          [hourKey(i, '/a'), 1 + (i % 4)],
          [hourKey(i, '/b'), 3],
        ])
      }
      await add([
        [dayKey(5, '/c'), 100],
        [dayKey(33, '/a'), 40],
        [dayKey(20, '/late'), 1000],
        [dayKey(60, '/b'), 9],
        [hourKey(3, '/b'), 50],
        [hourKey(17, '/new'), 60],
      ])

      const expected = (grain: 'day' | 'hour', from: number, to: number) => {
        const sums = new Map<string, number>()
        for (let i = from; i <= to; i++) {
          const at = grain === 'day' ? `day:${day(i)}` : `hour:${H0 + i}`
          for (const [value, n] of model.get(at) ?? []) sums.set(value, (sums.get(value) ?? 0) + n)
        }
        return [...sums].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
      }
      const ranges: Array<[number, number]> = [
        [0, 69],
        [0, 29],
        [3, 40],
        [10, 10],
        [31, 62],
        [40, 69],
        [17, 47],
      ]
      for (const [from, to] of ranges) {
        const rows = await store.topValues({
          grain: 'day',
          site_id: 'site-a',
          dim: 'page',
          from: day(from),
          to: day(to),
          orderBy: 'pageviews',
          limit: 10,
        })
        expect(
          rows.map((r) => [r.value, r.pageviews]),
          `days ${from}..${to}`,
        ).toEqual(expected('day', from, to))
      }
      for (const [from, to] of [
        [0, 39],
        [0, 23],
        [15, 38],
        [2, 5],
      ] as const) {
        const rows = await store.topValues({
          grain: 'hour',
          site_id: 'site-a',
          dim: 'page',
          from: H0 + from,
          to: H0 + to,
          orderBy: 'pageviews',
          limit: 10,
        })
        expect(
          rows.map((r) => [r.value, r.pageviews]),
          `hours ${from}..${to}`,
        ).toEqual(expected('hour', from, to))
      }
    })
  })
}
