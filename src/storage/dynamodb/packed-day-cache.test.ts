import { describe, expect, it } from 'vitest'
import { columnarPart } from '../../record/columnar-record.ts'
import { recordWorld } from '../../testing/record-world.ts'
import { PackedDayCache, type SiteDays } from './packed-day-cache.ts'

/** A day's part for `site`: a small world's sessions in its dictionaries. */
function put(site: SiteDays, day: string, seed: number) {
  site.put(day, columnarPart(site.dicts, recordWorld(seed, 86_400_000)))
}

const SEEDS = [123456789, 55555555, 2024061, 31337000]

describe('PackedDayCache', () => {
  it('keeps days under their generation and zone, and drops them when either differs', () => {
    const cache = new PackedDayCache(64 * 1024 * 1024)
    const site = cache.site('a', 'UTC', 3)
    put(site, '2026-03-01', SEEDS[0] as number)
    expect(cache.site('a', 'UTC', 3).get('2026-03-01')).toBeDefined()
    expect(cache.site('a', 'Europe/Berlin', 3).get('2026-03-01')).toBeUndefined()
    const next = cache.site('a', 'UTC', 4)
    expect(next.get('2026-03-01')).toBeUndefined()
    expect(next.dicts).not.toBe(site.dicts)
    // The old generation's set is let go: a query still under way adds nothing to the cache.
    put(site, '2026-03-02', SEEDS[1] as number)
    expect(cache.held().find((h) => h.site === 'a UTC')?.days).toEqual([])
  })

  it('evicts the least recently used day past its bytes', () => {
    const probe = new PackedDayCache(64 * 1024 * 1024)
    const p = probe.site('a', 'UTC', 0)
    for (const [i, day] of ['a1', 'a2', 'a3'].entries()) put(p, day, SEEDS[i] as number)
    const cache = new PackedDayCache(probe.bytes())
    const a = cache.site('a', 'UTC', 0)
    for (const [i, day] of ['a1', 'a2', 'a3'].entries()) put(a, day, SEEDS[i] as number)
    expect(cache.held()[0]?.days).toEqual(['a1', 'a2', 'a3'])
    // a1 used again: a2 is now the least recently used, and a4 is as big as it.
    expect(cache.site('a', 'UTC', 0).get('a1')).toBeDefined()
    put(a, 'a4', SEEDS[1] as number)
    expect(cache.held()[0]?.days).toEqual(['a1', 'a3', 'a4'])
    expect(cache.bytes()).toBeLessThanOrEqual(cache.maxBytes)
  })

  it("evicts across sites, and a site's dictionaries go with its last day", () => {
    const probe = new PackedDayCache(64 * 1024 * 1024)
    put(probe.site('a', 'UTC', 0), 'a1', SEEDS[0] as number)
    const cache = new PackedDayCache(probe.bytes())
    put(cache.site('a', 'UTC', 0), 'a1', SEEDS[0] as number)
    put(cache.site('b', 'UTC', 0), 'b1', SEEDS[0] as number)
    expect(cache.held()).toEqual([expect.objectContaining({ site: 'b UTC', days: ['b1'] })])
    expect(cache.bytes()).toBeLessThanOrEqual(cache.maxBytes)
  })

  it('keeps nothing with no bytes, and answers with fresh dictionaries each time', () => {
    const cache = new PackedDayCache(0)
    const site = cache.site('a', 'UTC', 0)
    put(site, 'd', SEEDS[2] as number)
    expect(cache.bytes()).toBe(0)
    expect(cache.site('a', 'UTC', 0).get('d')).toBeUndefined()
  })
})
