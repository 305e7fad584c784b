import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addDays, hourBucket, localDay } from '../../core/calendar.ts'
import { ROW_DIMENSIONS } from '../../core/rollup-deltas.ts'
import {
  type BotHit,
  COUNTER_NAMES,
  type EnrichedEvent,
  type SessionState,
  type Site,
} from '../../core/types.ts'
import { HistoryImport, HistoryImportError } from '../../import/history-import.ts'
import type { RollupRow, Store } from '../../storage/store.ts'
import { acceptAndRollUp } from '../accept-and-roll-up.ts'
import { enrichedEvent } from '../enriched-event.ts'
import type { StoreHarness } from './harness.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** "Now" for these tests: raw records are kept for the last day before it. */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const TIMEOUT = 30 * MIN

const SITES: Site[] = [
  {
    id: 'site-a',
    name: 'A',
    domain: 'example.com',
    timezone: 'UTC',
    api_key: 'key-site-a-0123456789',
    created_at: 0,
  },
  {
    id: 'site-b',
    name: 'B',
    domain: 'b.example',
    timezone: 'America/New_York',
    api_key: 'key-site-b-0123456789',
    created_at: 0,
  },
]

/** A small deterministic random source (a linear congruential generator). */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

/**
 * Three days of two sites' traffic, in time order: visitors come back after short and long
 * gaps (so some sessions continue and some split), one session crosses the raw TTL, pages,
 * sources, countries and a custom event vary, and one event is sent twice.
 */
function history(): EnrichedEvent[] {
  const rand = random(7)
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)] as T
  const events: EnrichedEvent[] = []
  for (let v = 0; v < 14; v++) {
    const site = SITES[v % 3 === 0 ? 1 : 0] as Site
    const country = pick(['DE', 'US', 'IN'])
    const browser = pick(['Chrome', 'Firefox'])
    let t = NOW - 3 * DAY + Math.floor(rand() * 2 * DAY)
    for (let visit = 0; visit < 5 && t < NOW; visit++) {
      const source = pick(['Direct', 'Google', 'news.example'])
      const pages = 1 + Math.floor(rand() * 4)
      for (let i = 0; i < pages && t < NOW; i++) {
        events.push(
          enrichedEvent({
            site_id: site.id,
            timezone: site.timezone,
            client_session_id: `client-${v}`,
            visitor_id: `visitor-${v}`,
            event_id: `e-${v}-${visit}-${i}`,
            timestamp: t,
            event_type: i === 2 ? 'signup' : 'page_view',
            path: pick(['/', '/pricing', '/docs', '/blog/a']),
            source,
            channel: source === 'Direct' ? 'direct' : 'referral',
            utm_campaign: source === 'Google' ? 'winter' : '',
            country,
            browser,
          }),
        )
        t += Math.floor(rand() * 12 * MIN)
      }
      // Half the visits continue within the timeout; the rest come back hours later.
      t += rand() < 0.5 ? Math.floor(rand() * 25 * MIN) : 40 * MIN + Math.floor(rand() * 9 * HOUR)
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp)
  const repeated = events[5] as EnrichedEvent
  events.splice(6, 0, { ...repeated })
  return events
}

/**
 * Every counter row of every dimension of both sites, hourly and daily. Rows whose counters
 * net to zero are left out: where they remain (an exit page a session moved on from) depends
 * on how the work was cut into writes, not on what was counted.
 */
async function allCounters(store: Store, events: readonly EnrichedEvent[]) {
  const first = (events[0] as EnrichedEvent).timestamp - DAY
  const last = (events.at(-1) as EnrichedEvent).timestamp + DAY
  const rows: RollupRow[][] = []
  for (const site of SITES) {
    for (const dim of ROW_DIMENSIONS) {
      const range = { site_id: site.id, dim }
      rows.push(
        await store.readRollups({
          ...range,
          grain: 'hour',
          from: hourBucket(first),
          to: hourBucket(last),
        }),
        await store.readRollups({
          ...range,
          grain: 'day',
          from: localDay(first, 'UTC'),
          to: addDays(localDay(last, 'UTC'), 1),
        }),
      )
    }
  }
  const counted = (row: RollupRow) => COUNTER_NAMES.some((name) => row[name] !== 0)
  return rows.map((list) => list.filter(counted))
}

/** Each event's session as stored, without its internal id (ids differ between paths). */
async function sessionsOf(store: Store, events: readonly EnrichedEvent[]) {
  const sessions: Array<Omit<SessionState, 'id'>> = []
  for (const e of events) {
    const found = await store.findSession(e.site_id, e.client_session_id, e.timestamp)
    if (!found) throw new Error(`no session for ${e.event_id}`)
    const { id: _id, ...rest } = found
    sessions.push(rest)
  }
  return sessions
}

/**
 * History imports are held to the collector's numbers: the same events imported or committed
 * through the live pipeline leave the same counters and sessions. Runs on every backend.
 */
export function describeHistoryImportContract(
  name: string,
  makeStore: () => Promise<StoreHarness>,
) {
  describe(`History import: ${name}`, () => {
    const harnesses: StoreHarness[] = []
    const fresh = async () => {
      const harness = await makeStore()
      harnesses.push(harness)
      for (const site of SITES) await harness.store.createSite(site)
      return harness.store
    }
    let ids = 0
    const options = (flushEvents = 25) => ({
      sessionTimeoutMs: TIMEOUT,
      newSessionId: () => `import-${++ids}`,
      eventTtlMs: DAY,
      now: NOW,
      flushEvents,
    })
    const importAll = async (
      store: Store,
      events: readonly (EnrichedEvent | BotHit)[],
      flushEvents = 25,
    ) => {
      const history = new HistoryImport(store, options(flushEvents))
      // In uneven pieces, as a file reader hands them over.
      for (let i = 0; i < events.length; i += 17) await history.add(events.slice(i, i + 17))
      return history.finish()
    }

    beforeEach(() => {
      ids = 0
    })
    afterEach(async () => {
      for (const harness of harnesses.splice(0)) await harness.cleanup()
    })

    it('counts what the collector counts, and keeps raw records only within the TTL', async () => {
      const events = history()
      // A crawler now and then, on both sites: counted per hour, never a visitor.
      const botAfter = (e: EnrichedEvent): BotHit => ({
        site_id: e.site_id,
        timezone: e.timezone,
        timestamp: e.timestamp + 1,
      })
      const bots = events.filter((_, i) => i % 9 === 0).map(botAfter)
      const committed = await fresh()
      for (let i = 0; i < events.length; i += 40) {
        const slice = events.slice(i, i + 40)
        const sliceBots = slice.filter((_, j) => (i + j) % 9 === 0).map(botAfter)
        await acceptAndRollUp(committed, slice, sliceBots, {
          sessionTimeoutMs: TIMEOUT,
          newSessionId: () => `live-${++ids}`,
        })
      }
      const imported = await fresh()
      const items = [...events, ...bots].sort((a, b) => a.timestamp - b.timestamp)
      const result = await importAll(imported, items)

      expect(result.duplicates).toBe(1)
      expect(result.imported).toBe(events.length - 1)
      const dayTotals = await imported.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: '',
        from: '2000-01-01',
        to: '2100-01-01',
      })
      const siteABots = bots.filter((b) => b.site_id === 'site-a').length
      expect(dayTotals.reduce((sum, row) => sum + row.bots, 0)).toBe(siteABots)
      expect(await allCounters(imported, events)).toEqual(await allCounters(committed, events))
      expect(await sessionsOf(imported, events)).toEqual(await sessionsOf(committed, events))
      const distinct = new Set((await sessionsOf(imported, events)).map((s) => JSON.stringify(s)))
      expect(result.sessions).toBe(distinct.size)
      // Only the last day's events keep a raw record; older ones would be swept at once.
      const since = NOW - DAY
      for (const siteId of ['site-a', 'site-b']) {
        const live = await imported.liveEventsSince(siteId, 0, 1_000_000)
        expect(live).toEqual(await committed.liveEventsSince(siteId, since, 1_000_000))
        expect(live.length).toBeGreaterThan(0)
      }
      expect(await imported.backlog()).toBe(0)
      // The record holds imported history as it holds the collector's: every event, in order.
      for (const siteId of ['site-a', 'site-b']) {
        const recorded = async (store: Store) =>
          (await store.recordSessions(siteId, NOW - 4 * DAY, NOW)).map(
            ({ id: _id, ...session }) => session,
          )
        const fromImport = await recorded(imported)
        expect(fromImport.length).toBeGreaterThan(0)
        expect(fromImport).toEqual(await recorded(committed))
      }
    })

    it('writes whole hours, so a stopped import resumes where its counters end', async () => {
      const events = history()
      const once = await fresh()
      await importAll(once, events)
      // Stopped after some hour: the rest is imported later as a second run.
      const cut = hourBucket((events[Math.floor(events.length / 2)] as EnrichedEvent).timestamp)
      const before = events.filter((e) => hourBucket(e.timestamp) <= cut)
      const after = events.filter((e) => hourBucket(e.timestamp) > cut)
      const twice = await fresh()
      await importAll(twice, before)
      await importAll(twice, after)
      expect(await allCounters(twice, events)).toEqual(await allCounters(once, events))
      expect(await sessionsOf(twice, events)).toEqual(await sessionsOf(once, events))
    })

    it('continues a session stored just before the import', async () => {
      const store = await fresh()
      const at = NOW - 2 * DAY
      const visit = (id: string, timestamp: number, path: string) =>
        enrichedEvent({ event_id: id, timestamp, path, client_session_id: 'c', visitor_id: 'v' })
      await importAll(store, [visit('a', at - 10 * MIN, '/')])
      await importAll(store, [visit('b', at + 10 * MIN, '/pricing')])
      const session = await store.findSession('site-a', 'c', at)
      expect(session).toMatchObject({
        start_time: at - 10 * MIN,
        end_time: at + 10 * MIN,
        pageviews: 2,
        exit_page: '/pricing',
      })
      const day = localDay(at, 'UTC')
      const [totals] = await store.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: '',
        from: day,
        to: day,
      })
      expect(totals).toMatchObject({ pageviews: 2, sessions: 1, bounces: 0, visitors: 1 })
    })

    it('refuses events out of time order, naming the first one', async () => {
      const store = await fresh()
      const history = new HistoryImport(store, options())
      const late = enrichedEvent({ event_id: 'late', timestamp: NOW - DAY })
      const early = enrichedEvent({ event_id: 'early', timestamp: NOW - 2 * DAY })
      const refused = await history.add([late, early]).catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(HistoryImportError)
      expect(refused).toMatchObject({ at: 1, message: expect.stringMatching(/time order/) })
      // The import is over: the hour it was in is not written by a later finish.
      await expect(history.finish()).rejects.toThrow(/the import stopped .*time order/)
      await expect(history.add([late])).rejects.toThrow(/nothing more is written/)
      const day = localDay(NOW - DAY, 'UTC')
      expect(
        await store.readRollups({ grain: 'day', site_id: 'site-a', dim: '', from: day, to: day }),
      ).toEqual([])
    })

    it('refuses hours a site has already counted, so nothing is counted twice', async () => {
      const store = await fresh()
      const events = history()
      await importAll(store, events)
      const again = importAll(store, events)
      await expect(again).rejects.toThrow(/already has counters/)
      // The other site is checked on its own.
      const b = events.filter((e) => e.site_id === 'site-b')
      await expect(importAll(store, b)).rejects.toThrow(/site-b already has counters/)
    })

    it('refuses to start while accepted events wait for the roll-up', async () => {
      const store = await fresh()
      await store.accept([enrichedEvent({ event_id: 'live', timestamp: NOW })], [])
      await expect(importAll(store, history())).rejects.toThrow(/wait for the roll-up/)
    })
  })
}
