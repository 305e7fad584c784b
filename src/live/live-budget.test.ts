import { describe, expect, it } from 'vitest'
import type { LiveEvent } from '../storage/store.ts'
import { LiveWindow } from './live-window.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0)

function ev(site: string, i: number, overrides: Partial<LiveEvent> = {}): LiveEvent {
  return {
    site_id: site,
    session_id: `${site}-s${i}`,
    visitor_id: `${site}-v${i}`,
    timestamp: T0,
    event_type: 'page_view',
    path: i % 3 === 0 ? '/pricing' : '/home',
    title: '',
    source: 'Direct',
    country: 'DE',
    device: 'desktop',
    browser: 'Chrome',
    ...overrides,
  }
}

/** `count` new visitors, each with a new session, on `site`. */
function flood(site: string, count: number, from = 0): LiveEvent[] {
  return Array.from({ length: count }, (_, i) => ev(site, from + i))
}

describe('LiveWindow under a budget', () => {
  it('stays exact within the budget', () => {
    const live = new LiveWindow(() => T0, 1000)
    live.add(flood('a', 400))
    const snap = live.snapshot('a')
    expect(snap).toMatchObject({ active_visitors: 400, active_sessions: 400, approximate: false })
    expect(snap.pages).toEqual([
      { page_url: '/home', visitors: 266 },
      { page_url: '/pricing', visitors: 134 },
    ])
  })

  it('keeps bounded state past the budget and answers marked estimates', () => {
    const live = new LiveWindow(() => T0, 1000)
    for (let batch = 0; batch < 50; batch++) live.add(flood('a', 1000, batch * 1000))
    const held = live.size('a')
    // Exact entries stop at the budget; the rest is in sketches of a fixed number of minutes.
    expect(held.visitors + held.sessions).toBeLessThanOrEqual(1000)
    expect(held.sketchMinutes).toBeLessThanOrEqual(3)
    const snap = live.snapshot('a')
    expect(snap.approximate).toBe(true)
    expect(Math.abs(snap.active_visitors - 50_000)).toBeLessThan(50_000 * 0.05)
    expect(Math.abs(snap.active_sessions - 50_000)).toBeLessThan(50_000 * 0.05)
    const pages = new Map(snap.pages.map((p) => [p.page_url, p.visitors]))
    expect(Math.abs((pages.get('/home') ?? 0) - 33_333)).toBeLessThan(33_333 * 0.05)
    expect(Math.abs((pages.get('/pricing') ?? 0) - 16_667)).toBeLessThan(16_667 * 0.05)
  })

  it("keeps a second site's live view exact while the first floods", () => {
    const live = new LiveWindow(() => T0, 1000)
    live.add(flood('quiet', 10))
    for (let batch = 0; batch < 20; batch++) live.add(flood('busy', 1000, batch * 1000))
    // The busy site took the free budget; the quiet one still has room within its share.
    live.add(flood('quiet', 200, 10))
    expect(live.snapshot('busy').approximate).toBe(true)
    expect(live.snapshot('quiet')).toMatchObject({
      active_visitors: 210,
      active_sessions: 210,
      approximate: false,
    })
  })

  it('is exact again once the refused entries have left every window', () => {
    const clock = { now: T0 }
    const live = new LiveWindow(() => clock.now, 100)
    live.add(flood('a', 500))
    expect(live.snapshot('a').approximate).toBe(true)
    // Visitors leave after 5 minutes, sessions after 30: estimates until then.
    clock.now = T0 + 10 * MIN
    live.add(flood('a', 5, 1000).map((e) => ({ ...e, timestamp: clock.now })))
    expect(live.snapshot('a').approximate).toBe(true)
    clock.now = T0 + 31 * MIN
    live.add(flood('a', 5, 2000).map((e) => ({ ...e, timestamp: clock.now })))
    const snap = live.snapshot('a')
    expect(snap).toMatchObject({ approximate: false, active_visitors: 5, active_sessions: 10 })
    expect(live.size('a').sketchMinutes).toBe(0)
  })

  it('marks a window seeded with only the latest part of its half hour as an estimate', () => {
    const clock = { now: T0 }
    const live = new LiveWindow(() => clock.now, 1000)
    live.seed('a', flood('a', 10), false)
    live.seed('b', flood('b', 10), true)
    expect(live.snapshot('a')).toMatchObject({ active_visitors: 10, approximate: true })
    expect(live.snapshot('b')).toMatchObject({ active_visitors: 10, approximate: false })
    // Once the part not read has left the window, the counts are exact again.
    clock.now = T0 + 31 * MIN
    expect(live.snapshot('a').approximate).toBe(false)
  })
})
