import { describe, expect, it } from 'vitest'
import {
  bucketNumber,
  bucketValue,
  decompose,
  type SpanWindow,
  spansEndingAt,
  spansHolding,
} from './spans.ts'

/** Every bucket [from, to] covered exactly once, and only by usable spans. */
function coverage(from: number, to: number, window: SpanWindow | undefined, maxLevel: number) {
  const parts = decompose(from, to, window, maxLevel)
  const hits = new Map<number, number>()
  const hit = (n: number) => hits.set(n, (hits.get(n) ?? 0) + 1)
  for (const span of parts.spans) {
    const size = 2 ** span.level
    expect(span.start % size).toBe(0)
    expect(span.level).toBeLessThanOrEqual(maxLevel)
    expect(window && span.start >= window.origin && span.start + size - 1 <= window.through).toBe(
      true,
    )
    for (let n = span.start; n < span.start + size; n++) hit(n)
  }
  for (const [a, b] of parts.ranges) for (let n = a; n <= b; n++) hit(n)
  return { parts, hits }
}

describe('span decomposition', () => {
  it('covers every range exactly once with usable spans and base ranges', () => {
    const windows: Array<SpanWindow | undefined> = [
      undefined,
      { origin: 20_000, through: 20_100 },
      { origin: 20_013, through: 20_061 },
    ]
    for (const window of windows) {
      for (let from = 19_990; from < 20_080; from += 5) {
        for (let to = from; to < from + 120; to += 11) {
          const { hits } = coverage(from, to, window, 8)
          expect(hits.size).toBe(to - from + 1)
          for (let n = from; n <= to; n++) expect(hits.get(n)).toBe(1)
        }
      }
    }
  })

  it('reads a 30-day range inside a built window in a handful of pieces', () => {
    const day = bucketNumber('day', '2026-11-23')
    const { parts } = coverage(day - 29, day, { origin: day - 400, through: day - 1 }, 8)
    // 30 rows per value become at most ~2·log2(30) pieces: here 4 spans and 2 edge ranges.
    expect(parts.spans.length + parts.ranges.length).toBeLessThanOrEqual(9)
    expect(parts.ranges.at(-1)).toEqual([day, day])
  })

  it('uses no span without a window, or before its origin, or past its last closed bucket', () => {
    expect(decompose(100, 163, undefined, 8)).toEqual({ spans: [], ranges: [[100, 163]] })
    expect(decompose(100, 163, { origin: 128, through: 200 }, 8)).toEqual({
      spans: [
        { level: 5, start: 128 },
        { level: 2, start: 160 },
      ],
      ranges: [[100, 127]],
    })
    expect(decompose(128, 163, { origin: 128, through: 150 }, 8)).toEqual({
      spans: [
        { level: 4, start: 128 },
        { level: 2, start: 144 },
        { level: 1, start: 148 },
      ],
      ranges: [[150, 163]],
    })
  })
})

describe('span maintenance', () => {
  it('finds the usable spans holding a bucket (where a late delta also goes)', () => {
    expect(spansHolding(13, { origin: 0, through: 15 }, 4)).toEqual([
      { level: 1, start: 12 },
      { level: 2, start: 12 },
      { level: 3, start: 8 },
      { level: 4, start: 0 },
    ])
    // Before the origin nothing was built; past the last closed bucket nothing is complete.
    expect(spansHolding(13, { origin: 8, through: 15 }, 4)).toEqual([
      { level: 1, start: 12 },
      { level: 2, start: 12 },
      { level: 3, start: 8 },
    ])
    expect(spansHolding(13, { origin: 0, through: 14 }, 4)).toEqual([{ level: 1, start: 12 }])
  })

  it('lists the spans a closing bucket completes, smallest first, none before the origin', () => {
    expect(spansEndingAt(15, 0, 8)).toEqual([
      { level: 1, start: 14 },
      { level: 2, start: 12 },
      { level: 3, start: 8 },
      { level: 4, start: 0 },
    ])
    expect(spansEndingAt(15, 10, 8)).toEqual([
      { level: 1, start: 14 },
      { level: 2, start: 12 },
    ])
    expect(spansEndingAt(14, 0, 8)).toEqual([])
    expect(spansEndingAt(15, 0, 2)).toEqual([
      { level: 1, start: 14 },
      { level: 2, start: 12 },
    ])
  })

  it('numbers day and hour buckets and back', () => {
    expect(bucketNumber('day', '1970-01-02')).toBe(1)
    expect(bucketValue('day', bucketNumber('day', '2026-02-28') + 1)).toBe('2026-03-01')
    expect(bucketNumber('hour', 493_000)).toBe(493_000)
    expect(bucketValue('hour', 493_000)).toBe(493_000)
  })
})
