import { describe, expect, it } from 'vitest'
import type { LiveEvent } from '../storage/store.ts'
import { LiveWindow } from './live-window.ts'

const SEC = 1000
const MIN = 60_000
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0)

/** A clock the test moves by hand; the window reads it on every call. */
function setup(start = T0) {
  const clock = { now: start }
  const live = new LiveWindow(() => clock.now)
  return { clock, live }
}

function ev(overrides: Partial<LiveEvent> = {}): LiveEvent {
  return {
    site_id: 'site-a',
    session_id: 's1',
    visitor_id: 'v1',
    timestamp: T0,
    event_type: 'page_view',
    path: '/',
    title: 'Home',
    source: 'Direct',
    country: 'DE',
    device: 'desktop',
    browser: 'Chrome',
    ...overrides,
  }
}

describe('LiveWindow', () => {
  it('counts a visitor for 5 minutes and their session for 30', () => {
    const { clock, live } = setup()
    live.add([ev({ visitor_id: 'v1', session_id: 's1', timestamp: T0 })])
    clock.now = T0 + 5 * MIN - 1
    expect(live.snapshot('site-a')).toMatchObject({ active_visitors: 1, active_sessions: 1 })
    clock.now = T0 + 5 * MIN
    expect(live.snapshot('site-a')).toMatchObject({
      active_visitors: 0,
      active_sessions: 1,
      pages: [],
    })
    clock.now = T0 + 30 * MIN - 1
    expect(live.snapshot('site-a').active_sessions).toBe(1)
    clock.now = T0 + 30 * MIN
    expect(live.snapshot('site-a').active_sessions).toBe(0)
  })

  it('puts each visitor on the page of their latest event, even when events arrive late', () => {
    const { clock, live } = setup(T0 + 3 * MIN)
    live.add([ev({ visitor_id: 'v1', path: '/b', timestamp: T0 + 2 * MIN })])
    live.add([ev({ visitor_id: 'v1', path: '/a', timestamp: T0 + MIN })]) // late arrival
    expect(live.snapshot('site-a').pages).toEqual([{ page_url: '/b', visitors: 1 }])
    clock.now += SEC
    live.add([ev({ visitor_id: 'v1', path: '/c', timestamp: T0 + 3 * MIN })])
    expect(live.snapshot('site-a').pages).toEqual([{ page_url: '/c', visitors: 1 }])
  })

  it('orders pages by visitors, then by name', () => {
    const { live } = setup()
    live.add([
      ev({ visitor_id: 'v1', path: '/z' }),
      ev({ visitor_id: 'v2', path: '/pricing' }),
      ev({ visitor_id: 'v3', path: '/pricing' }),
      ev({ visitor_id: 'v4', path: '/a' }),
    ])
    expect(live.snapshot('site-a').pages).toEqual([
      { page_url: '/pricing', visitors: 2 },
      { page_url: '/a', visitors: 1 },
      { page_url: '/z', visitors: 1 },
    ])
  })

  it('buckets page views per minute: 30 buckets, oldest first, the current minute last', () => {
    // Now is 10:29:30, so the buckets are the minutes 10:00 … 10:29.
    const { clock, live } = setup(T0 + 29 * MIN + 30 * SEC)
    live.add([
      ev({ timestamp: T0 - SEC }), // 09:59:59, before the window
      ev({ timestamp: T0 }), // 10:00:00
      ev({ timestamp: T0 + 59 * SEC }), // 10:00:59
      ev({ timestamp: T0 + 15 * MIN }), // 10:15
      ev({ timestamp: T0 + 24 * MIN + 59 * SEC }), // 10:24:59
      ev({ timestamp: T0 + 25 * MIN }), // 10:25
      ev({ timestamp: T0 + 29 * MIN + 10 * SEC }), // 10:29:10
      ev({ timestamp: T0 + 29 * MIN + 20 * SEC }), // 10:29:20
      ev({ timestamp: T0 + 29 * MIN, event_type: 'signup' }), // not a page view
    ])
    const expected = Array<number>(30).fill(0)
    expected[0] = 2
    expected[15] = 1
    expected[24] = 1
    expected[25] = 1
    expected[29] = 2
    const snap = live.snapshot('site-a')
    expect(snap.pageviews_per_minute).toEqual(expected)
    // Minutes 10:25 … 10:29: one page view at 10:25, two page views and a signup at 10:29.
    expect(snap.events_last_5m).toBe(4)

    clock.now += MIN // 10:30:30: the 10:00 bucket leaves, an empty current minute arrives
    expect(live.snapshot('site-a').pageviews_per_minute).toEqual([...expected.slice(1), 0])
    expect(live.snapshot('site-a').events_last_5m).toBe(3)
  })

  it('keeps the 20 latest events, newest first, placing late arrivals by their timestamp', () => {
    const { clock, live } = setup(T0 + 10 * MIN)
    const events = Array.from({ length: 25 }, (_, i) =>
      ev({ timestamp: T0 + i * SEC, path: `/p${i}`, title: `t${i}` }),
    )
    live.add(events.slice(0, 12))
    live.add(events.slice(12))
    live.add([ev({ timestamp: T0, path: '/too-old' })]) // older than all 20 kept: ignored
    live.add([ev({ timestamp: T0 + 10 * SEC + 500, path: '/late' })]) // fits between p10 and p11
    const recent = live.snapshot('site-a').recent_events
    expect(recent).toHaveLength(20)
    expect(recent.map((e) => e.page_url)).toEqual([
      ...Array.from({ length: 14 }, (_, i) => `/p${24 - i}`),
      '/late',
      '/p10',
      '/p9',
      '/p8',
      '/p7',
      '/p6',
    ])
    expect(recent[0]).toEqual({
      timestamp: new Date(T0 + 24 * SEC).toISOString(),
      event_type: 'page_view',
      page_url: '/p24',
      title: 't24',
      country: 'DE',
      device: 'desktop',
      session_id: 's1',
    })
    clock.now = T0 + 30 * MIN + 11 * SEC // p11 and older are 30 minutes old now: dropped
    expect(live.snapshot('site-a').recent_events.map((e) => e.page_url)).toEqual(
      Array.from({ length: 13 }, (_, i) => `/p${24 - i}`),
    )
  })

  it('breaks active visitors down by source, country and device of their latest event', () => {
    const { clock, live } = setup()
    live.add([
      ev({ visitor_id: 'v1', source: 'Google', country: 'DE', device: 'desktop' }),
      ev({ visitor_id: 'v2', source: 'Google', country: 'FR', device: 'mobile' }),
      ev({ visitor_id: 'v3', source: 'Direct', country: '', device: 'mobile' }),
      // v4 was only active long ago, so it counts nowhere.
      ev({ visitor_id: 'v4', source: 'Bing', timestamp: T0 - 6 * MIN }),
    ])
    clock.now = T0 + MIN
    // v1's latest event (a new session on a tablet) decides where v1 is counted.
    live.add([
      ev({
        visitor_id: 'v1',
        session_id: 's9',
        source: 'Google',
        device: 'tablet',
        timestamp: T0 + MIN,
      }),
    ])
    const snap = live.snapshot('site-a')
    expect(snap.active_visitors).toBe(3)
    expect(snap.sources).toEqual([
      { source: 'Google', visitors: 2 },
      { source: 'Direct', visitors: 1 },
    ])
    expect(snap.countries).toEqual([
      { country: '', visitors: 1 },
      { country: 'DE', visitors: 1 },
      { country: 'FR', visitors: 1 },
    ])
    expect(snap.devices).toEqual([
      { device: 'mobile', visitors: 2 },
      { device: 'tablet', visitors: 1 },
    ])
  })

  it('keeps sites apart', () => {
    const { live } = setup()
    live.add([ev({ site_id: 'site-a' }), ev({ site_id: 'site-a', visitor_id: 'v2' })])
    live.add([ev({ site_id: 'site-b' })])
    live.add([ev({ site_id: 'site-a' })])
    expect(live.snapshot('site-a').active_visitors).toBe(2)
    expect(live.snapshot('site-b').active_visitors).toBe(1)
  })

  it('answers an empty snapshot for a site without events', () => {
    const { live } = setup()
    expect(live.snapshot('nobody')).toEqual({
      active_visitors: 0,
      active_sessions: 0,
      pages: [],
      pageviews_per_minute: Array<number>(30).fill(0),
      events_last_5m: 0,
      sources: [],
      countries: [],
      devices: [],
      recent_events: [],
      approximate: false,
      generated_at: new Date(T0).toISOString(),
    })
  })

  it('holds memory by active visitors, not by events: 100k events from 50 visitors', () => {
    const { clock, live } = setup()
    for (let batch = 0; batch < 1000; batch++) {
      const events: LiveEvent[] = []
      for (let i = 0; i < 100; i++) {
        const n = (batch * 100 + i) % 50
        events.push(ev({ visitor_id: `v${n}`, session_id: `s${n}`, timestamp: clock.now }))
        clock.now += 30 // 100k events over 50 minutes, 2000 a minute
      }
      live.add(events)
    }
    const size = live.size('site-a')
    expect(size.visitors).toBeLessThanOrEqual(50)
    expect(size.sessions).toBeLessThanOrEqual(50)
    expect(size.minutes).toBeLessThanOrEqual(30 + 5)
    expect(size.recent).toBe(20)
    const snap = live.snapshot('site-a')
    expect(snap.active_visitors).toBe(50)
    // Now is exactly minute 50: minutes 21 … 49 are full, the current one has no event yet.
    expect(snap.pageviews_per_minute).toEqual([...Array<number>(29).fill(2000), 0])
  })

  it('forgets visitors who left, so a stream of new visitors does not grow memory', () => {
    const { clock, live } = setup()
    for (let minute = 0; minute < 60; minute++) {
      // Each minute brings 20 visitors never seen again.
      for (let s = 0; s < 60; s += 3) {
        const id = `m${minute}-${s}`
        live.add([ev({ visitor_id: id, session_id: id, timestamp: clock.now })])
        clock.now += 3 * SEC
      }
    }
    const size = live.size('site-a')
    // 5 minutes (+ the 10 s between sweeps) of visitors, 30 minutes (+10 s) of sessions.
    expect(size.visitors).toBeLessThanOrEqual(20 * 5 + 4)
    expect(size.sessions).toBeLessThanOrEqual(20 * 30 + 4)
    // Events every 3 s; the one exactly 5 minutes old no longer counts: 99 remain.
    expect(live.snapshot('site-a').active_visitors).toBe(99)
    expect(live.size('site-a').visitors).toBe(99)
  })
})

describe('sources of active visitors', () => {
  it('keep the source a visitor arrived from while they click through the site', () => {
    let now = Date.UTC(2026, 0, 1, 12)
    const live = new LiveWindow(() => now)
    const base = {
      site_id: 'site',
      session_id: 's',
      visitor_id: 'v',
      title: '',
      country: '',
      device: 'desktop',
      browser: 'Chrome',
      event_type: 'page_view',
    }
    live.add([{ ...base, timestamp: now, path: '/', source: 'Google' }])
    now += 10_000
    live.add([{ ...base, timestamp: now, path: '/next', source: 'Direct' }])
    const snapshot = live.snapshot('site')
    expect(snapshot.sources).toEqual([{ source: 'Google', visitors: 1 }])
    expect(snapshot.pages).toEqual([{ page_url: '/next', visitors: 1 }])
  })
})
