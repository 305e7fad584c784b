import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addDays, hourBucket } from '../core/calendar.ts'
import { zeroCounters } from '../core/rollup-deltas.ts'
import type { EnrichedEvent, RollupKey, Site } from '../core/types.ts'
import { commitEvents } from '../ingest/commit-events.ts'
import { enrichedEvent } from '../testing/enriched-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import type { QueuedEvent, RollupRow, Store } from './store.ts'

/**
 * The one behaviour every Store must have. Each backend's test file calls this with a
 * factory for a fresh, empty store; nothing here knows which backend it is talking to.
 */
export interface StoreHarness {
  store: Store
  cleanup: () => Promise<void>
}

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0)
const MIN = 60_000

const site: Site = makeSite({ created_at: T0 })

const NO_COUNTS = zeroCounters()

/** What the queue gives back of an accepted event: what the roll-up reads, and its id. */
function asQueued(event: EnrichedEvent): QueuedEvent {
  const { page_url, host, title, referrer, props, engagement_ms, ...queued } = event
  return queued
}

function total(rows: RollupRow[], name: keyof RollupRow): number {
  return rows.reduce((sum, row) => sum + Number(row[name]), 0)
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreHarness>) {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness
    let store: Store
    let ids = 0
    const commit = (events: EnrichedEvent[]) =>
      commitEvents(store, events, [], {
        sessionTimeoutMs: 30 * MIN,
        newSessionId: () => `session-${++ids}`,
      })
    const dayTotals = async (day = '2026-01-15') =>
      store.readRollups({ grain: 'day', site_id: site.id, dim: '', from: day, to: day })
    const dim = async (dimName: string, day = '2026-01-15') =>
      store.readRollups({ grain: 'day', site_id: site.id, dim: dimName, from: day, to: day })

    beforeEach(async () => {
      ids = 0
      harness = await makeStore()
      store = harness.store
      await store.createSite(site)
    })
    afterEach(async () => {
      await harness.cleanup()
    })

    describe('sites', () => {
      it('finds a site by id and by ingest key, and nothing for an unknown key', async () => {
        expect(await store.getSite('site-a')).toEqual(site)
        expect(await store.getSiteByApiKey(site.api_key)).toEqual(site)
        expect(await store.getSiteByApiKey('nope-nope-nope-nope')).toBeUndefined()
        expect(await store.getSite('missing')).toBeUndefined()
      })

      it('lists sites and rotates a key', async () => {
        await store.createSite({ ...site, id: 'site-b', api_key: 'key-site-b-0123456789' })
        expect((await store.listSites()).map((s) => s.id)).toEqual(['site-a', 'site-b'])
        await store.setSiteApiKey('site-b', 'key-rotated-0123456789')
        expect(await store.getSiteByApiKey('key-site-b-0123456789')).toBeUndefined()
        expect((await store.getSiteByApiKey('key-rotated-0123456789'))?.id).toBe('site-b')
      })
    })

    describe('daily salts', () => {
      it('keeps one salt per day and forgets it after the day is over', async () => {
        const first = await store.dailySalt('2026-01-15')
        expect(first.length).toBeGreaterThanOrEqual(32)
        expect(await store.dailySalt('2026-01-15')).toBe(first)
        expect(await store.dailySalt('2026-01-16')).not.toBe(first)
        const swept = await store.sweep({ now: Date.UTC(2026, 0, 19), eventTtlMs: 3_600_000 })
        expect(swept.salts).toBe(2)
        expect(await store.dailySalt('2026-01-15')).not.toBe(first)
      })
    })

    describe('ingest unit of work', () => {
      it('accepts an event once per (site, timestamp, event_id) and queues it', async () => {
        const a = enrichedEvent({ event_id: 'a', timestamp: T0 })
        const fresh = async (...args: Parameters<Store['accept']>) =>
          (await store.accept(...args)).fresh
        expect(await fresh([a, { ...a }], [])).toEqual([true, false])
        expect(await fresh([{ ...a }, { ...a, site_id: 'site-b' }], [])).toEqual([false, true])
        // Same id at another time is another event (a retry repeats both).
        expect(await fresh([{ ...a, timestamp: T0 + 1 }], [])).toEqual([true])
        await store.accept([], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }])
        expect(await store.queueLength()).toBe(4)
        await store.ingest(async (unit) => {
          const queued = await unit.queued(10)
          expect(queued.map((q) => q.item.kind)).toEqual(['event', 'event', 'event', 'bot'])
          expect(queued[0]?.item).toEqual({ kind: 'event', event: asQueued(a) })
          const seqs = queued.map((q) => q.seq)
          expect([...seqs].sort((x, y) => x - y)).toEqual(seqs)
          expect(await unit.queueHead()).toBe(seqs[0])
          // Retiring the first two leaves the rest for the next unit.
          await unit.write({ sessions: [], deltas: [], processedThrough: seqs[1] as number })
        })
        expect(await store.queueLength()).toBe(2)
      })

      it('returns the entries it queued, and the queue reads back what the roll-up needs', async () => {
        const events = ['a', 'b'].map((id, i) =>
          enrichedEvent({ event_id: id, timestamp: T0 + i, props: { plan: 'pro', n: i } }),
        )
        const bot = { site_id: 'site-a', timezone: 'UTC', timestamp: T0 }
        const { fresh, queued } = await store.accept([...events, { ...events[0]! }], [bot])
        expect(fresh).toEqual([true, true, false])
        expect(queued.map((q) => q.item)).toEqual([
          ...events.map((event) => ({ kind: 'event', event })),
          { kind: 'bot', hit: bot },
        ])
        const read = await store.ingest((unit) => unit.queued(10))
        expect(read.map((q) => q.seq)).toEqual(queued.map((q) => q.seq))
        expect(read.map((q) => q.item)).toEqual([
          ...events.map((event) => ({ kind: 'event', event: asQueued(event) })),
          { kind: 'bot', hit: bot },
        ])
      })

      it('never reuses a seq, not even after the queue ran empty', async () => {
        const first = await store.accept([enrichedEvent({ event_id: 'a', timestamp: T0 })], [])
        const firstSeq = first.queued[0]?.seq as number
        await store.ingest((unit) =>
          unit.write({ sessions: [], deltas: [], processedThrough: firstSeq }),
        )
        expect(await store.ingest((unit) => unit.queueHead())).toBeNull()
        const next = await store.accept([enrichedEvent({ event_id: 'b', timestamp: T0 })], [])
        expect(next.queued[0]?.seq).toBeGreaterThan(firstSeq)
      })

      it('moves one queued item aside and keeps the others queued in order', async () => {
        await store.accept(
          ['a', 'b', 'c'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i })),
          [],
        )
        const seqs = await store.ingest(async (unit) => (await unit.queued(10)).map((q) => q.seq))
        await store.deadLetter(seqs[1] as number, 'always fails', T0)
        expect(await store.queueLength()).toBe(2)
        const left = await store.ingest((unit) => unit.queued(10))
        expect(left.map((q) => (q.item.kind === 'event' ? q.item.event.event_id : ''))).toEqual([
          'a',
          'c',
        ])
      })

      it('retires part of one accept and keeps the rest queued, dead letters included', async () => {
        const { queued } = await store.accept(
          ['a', 'b', 'c', 'd'].map((id, i) => enrichedEvent({ event_id: id, timestamp: T0 + i })),
          [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }],
        )
        const seqs = queued.map((q) => q.seq)
        const ids = async () =>
          (await store.ingest((unit) => unit.queued(10))).map((q) =>
            q.item.kind === 'event' ? q.item.event.event_id : q.item.kind,
          )
        await store.ingest((unit) =>
          unit.write({ sessions: [], deltas: [], processedThrough: seqs[0] as number }),
        )
        expect(await store.queueLength()).toBe(4)
        expect(await ids()).toEqual(['b', 'c', 'd', 'bot'])
        // The oldest and a later one move aside; the head skips to what is left.
        await store.deadLetter(seqs[1] as number, 'always fails', T0)
        await store.deadLetter(seqs[3] as number, 'always fails', T0)
        await store.deadLetter(seqs[1] as number, 'again', T0)
        expect(await store.queueLength()).toBe(2)
        expect(await ids()).toEqual(['c', 'bot'])
        expect(await store.ingest((unit) => unit.queueHead())).toBe(seqs[2])
        await store.ingest((unit) =>
          unit.write({ sessions: [], deltas: [], processedThrough: seqs[2] as number }),
        )
        expect(await ids()).toEqual(['bot'])
        expect(await store.queueLength()).toBe(1)
        await store.ingest((unit) =>
          unit.write({ sessions: [], deltas: [], processedThrough: seqs[4] as number }),
        )
        expect(await store.queueLength()).toBe(0)
        expect(await store.ingest((unit) => unit.queueHead())).toBeNull()
      })

      it('finds overlapping sessions and claims each mark once', async () => {
        await commit([enrichedEvent({ event_id: 'a', client_session_id: 'c1', timestamp: T0 })])
        await store.ingest(async (unit) => {
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
          await unit.write({ sessions: [], deltas: [], processedThrough: 0 })
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
          await store.ingest((unit) =>
            unit.write({
              sessions: [],
              deltas: [{ key: { ...key, dim: 'page', value: '/x' }, counters }],
              processedThrough: 0,
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
          store.ingest((unit) => unit.write({ sessions: [], deltas }))
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
    })

    describe('sessions and counters through the ingest pipeline', () => {
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
          const top = async (dimName: string) =>
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

      it('stores a repeated event id once, in one batch or across batches', async () => {
        const event = enrichedEvent({ event_id: 'same', timestamp: T0 })
        expect((await commit([event, { ...event }])).outcomes).toEqual(['stored', 'duplicate'])
        expect((await commit([{ ...event }])).outcomes).toEqual(['duplicate'])
        expect((await dayTotals())[0]?.pageviews).toBe(1)
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
        const hours = (dimName: string, at: number) =>
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

      it('keeps a session and its events in time order, readable by id', async () => {
        await commit([
          enrichedEvent({ event_id: 'e2', timestamp: T0 + MIN, path: '/b' }),
          enrichedEvent({ event_id: 'e1', timestamp: T0, path: '/a', props: { plan: 'pro' } }),
        ])
        const session = await store.getSession('session-1')
        expect(session).toMatchObject({
          start_time: T0,
          end_time: T0 + MIN,
          entry_page: '/a',
          exit_page: '/b',
          pageviews: 2,
        })
        const events = await store.sessionEvents('session-1')
        expect(events.map((e) => [e.event_id, e.path])).toEqual([
          ['e1', '/a'],
          ['e2', '/b'],
        ])
        expect(events[0]?.props).toEqual({ plan: 'pro' })
        expect(await store.getSession('nope')).toBeUndefined()
      })

      it('finds the session of a tracker session id at a time, else the nearest', async () => {
        await commit([
          enrichedEvent({ event_id: 'a', client_session_id: 'tab', timestamp: T0 }),
          enrichedEvent({ event_id: 'b', client_session_id: 'tab', timestamp: T0 + 5 * MIN }),
          // A 60-minute gap starts a second session of the same tab.
          enrichedEvent({ event_id: 'c', client_session_id: 'tab', timestamp: T0 + 65 * MIN }),
        ])
        const first = await store.findSession('site-a', 'tab', T0 + 2 * MIN)
        const second = await store.findSession('site-a', 'tab', T0 + 65 * MIN)
        expect(first).toMatchObject({ start_time: T0, end_time: T0 + 5 * MIN })
        expect(second).toMatchObject({ start_time: T0 + 65 * MIN })
        // In the gap, nearer to the first session's end than to the second's start.
        expect((await store.findSession('site-a', 'tab', T0 + 20 * MIN))?.id).toBe(first?.id)
        expect(await store.findSession('site-a', 'other-tab', T0)).toBeUndefined()
        expect(await store.findSession('site-b', 'tab', T0)).toBeUndefined()
      })

      it('counts bots without storing them as events or visitors', async () => {
        await commitEvents(store, [], [{ site_id: 'site-a', timezone: 'UTC', timestamp: T0 }], {
          sessionTimeoutMs: 30 * MIN,
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

    describe('queries', () => {
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
          await store.ingest((unit) =>
            unit.write({
              sessions: [],
              deltas: entries.flatMap(([key, pageviews]) => [
                { key, counters: { ...NO_COUNTS, pageviews, visitors: 1 } },
                { key: { ...key, dim: '', value: '' }, counters: { ...NO_COUNTS, pageviews } },
              ]),
              processedThrough: 0,
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
            for (const [value, n] of model.get(at) ?? [])
              sums.set(value, (sums.get(value) ?? 0) + n)
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

      it("lists an identified user's sessions newest first, page by page", async () => {
        await commit([
          enrichedEvent({ timestamp: T0, user_id: 'u1', client_session_id: 'a' }),
          enrichedEvent({ timestamp: T0 + 60 * MIN, user_id: 'u1', client_session_id: 'b' }),
          enrichedEvent({ timestamp: T0 + 120 * MIN, user_id: 'u1', client_session_id: 'c' }),
          enrichedEvent({ timestamp: T0, user_id: 'u2', client_session_id: 'd' }),
        ])
        const page1 = await store.userSessions({ site_id: 'site-a', user_id: 'u1', limit: 2 })
        expect(page1.map((s) => s.client_session_id)).toEqual(['c', 'b'])
        const page2 = await store.userSessions({
          site_id: 'site-a',
          user_id: 'u1',
          limit: 2,
          before: page1[1]?.start_time,
        })
        expect(page2.map((s) => s.client_session_id)).toEqual(['a'])
      })

      it('answers session lookups during and after a bulk load', async () => {
        await commit([enrichedEvent({ timestamp: T0, user_id: 'u1', client_session_id: 'a' })])
        await store.beginBulkLoad()
        await commit([
          enrichedEvent({ timestamp: T0 + 60 * MIN, user_id: 'u1', client_session_id: 'b' }),
        ])
        const during = await store.findSession('site-a', 'b', T0 + 60 * MIN)
        expect(during?.user_id).toBe('u1')
        await commit([
          enrichedEvent({ timestamp: T0 + 120 * MIN, user_id: 'u1', client_session_id: 'c' }),
        ])
        await store.endBulkLoad()
        const sessions = await store.userSessions({ site_id: 'site-a', user_id: 'u1', limit: 5 })
        expect(sessions.map((s) => s.client_session_id)).toEqual(['c', 'b', 'a'])
        expect((await store.findSession('site-a', 'c', T0 + 120 * MIN))?.user_id).toBe('u1')
      })

      it('returns recent events with what the live view shows', async () => {
        await commit([
          enrichedEvent({ timestamp: T0, path: '/old', event_id: 'old' }),
          enrichedEvent({
            timestamp: T0 + 10 * MIN,
            path: '/new',
            event_id: 'new',
            source: 'Google',
            client_session_id: 'tab-7',
          }),
        ])
        const live = await store.liveEventsSince(T0 + MIN)
        expect(live).toEqual([
          expect.objectContaining({
            path: '/new',
            session_id: 'tab-7',
            source: 'Google',
            country: 'DE',
            device: 'desktop',
            visitor_id: 'visitor-1',
          }),
        ])
      })

      it('keeps settings: the first value initialised wins, put replaces', async () => {
        expect(await store.getSetting('secret')).toBeUndefined()
        expect(await store.initSetting('secret', 'one')).toBe('one')
        expect(await store.initSetting('secret', 'two')).toBe('one')
        await store.putSetting('secret', 'three')
        expect(await store.getSetting('secret')).toBe('three')
      })
    })

    describe('retention', () => {
      it('sweeps raw events after the TTL and keeps the counters', async () => {
        await commit([
          enrichedEvent({ event_id: 'old', timestamp: T0 }),
          enrichedEvent({ event_id: 'new', timestamp: T0 + 50 * 60 * MIN, client_session_id: 'x' }),
        ])
        const swept = await store.sweep({ now: T0 + 60 * 60 * MIN, eventTtlMs: 24 * 60 * MIN })
        expect(swept.events).toBe(1)
        expect((await store.sessionEvents('session-1')).length).toBe(0)
        expect((await store.sessionEvents('session-2')).map((e) => e.event_id)).toEqual(['new'])
        const days = await store.readRollups({
          grain: 'day',
          site_id: 'site-a',
          dim: '',
          from: '2026-01-01',
          to: '2026-01-31',
        })
        expect(total(days, 'pageviews')).toBe(2)
      })

      it('keeps an expired event until it is rolled up, then sweeps it', async () => {
        // Accepted but not rolled up yet (a late event, or a roll-up that is behind).
        await store.accept([enrichedEvent({ event_id: 'late', timestamp: T0 })], [])
        const policy = { now: T0 + 60 * 60 * MIN, eventTtlMs: 24 * 60 * MIN }
        expect((await store.sweep(policy)).events).toBe(0)
        const queued = await store.ingest((unit) => unit.queued(10))
        expect(queued.map((q) => q.item.kind === 'event' && q.item.event.event_id)).toEqual([
          'late',
        ])
        await store.ingest((unit) =>
          unit.write({ sessions: [], deltas: [], processedThrough: queued[0]?.seq as number }),
        )
        expect((await store.sweep(policy)).events).toBe(1)
      })

      it('answers health checks', async () => {
        await expect(store.health()).resolves.toBeUndefined()
      })
    })
  })
}
