import { describe, expect, it } from 'vitest'
import { makeSession } from '../../testing/fixtures.ts'
import { keepableBefore, lateSites, RECENT_MS, SETTLE_MS } from './late-writes.ts'

const NOW = Date.UTC(2026, 2, 20, 12)
const HOUR = 3_600_000
const session = (id: string, start: number, end: number) =>
  makeSession({ id, site_id: 'a', start_time: start, end_time: end })

describe('late writes', () => {
  it('are not the ordinary ones: a visit going on, a new visit of the last minutes', () => {
    const long = session('s1', NOW - 5 * HOUR, NOW - 5 * 60_000)
    const stored = new Map([['s1', { session: long }]])
    const written = [{ ...long, end_time: NOW }, session('s2', NOW - 10 * 60_000, NOW)]
    expect(lateSites(written, stored, [], NOW)).toEqual(new Set())
  })

  it('are those that touch a session that ended, or start, long ago', () => {
    const old = session('s1', NOW - 30 * HOUR, NOW - 29 * HOUR)
    const stored = new Map([['s1', { session: old }]])
    // An event joining a session that ended long ago.
    expect(lateSites([{ ...old, end_time: old.end_time + 60_000 }], stored, [], NOW)).toEqual(
      new Set(['a']),
    )
    // A new session long ago (a replayed event).
    const replayed = session('s3', NOW - 2 * RECENT_MS, NOW - 2 * RECENT_MS)
    expect(lateSites([replayed], new Map(), [], NOW)).toEqual(new Set(['a']))
    // A stored session removed (absorbed by another) that ended long ago.
    expect(lateSites([], stored, ['s1'], NOW)).toEqual(new Set(['a']))
  })

  it('keep readers from keeping anything for a while after one', () => {
    expect(keepableBefore(undefined, NOW)).toBe(NOW - RECENT_MS - SETTLE_MS)
    expect(keepableBefore({ late_at: NOW - 60_000 }, NOW)).toBe(Number.NEGATIVE_INFINITY)
    expect(keepableBefore({ late_at: NOW - SETTLE_MS }, NOW)).toBe(NOW - RECENT_MS - SETTLE_MS)
  })
})
