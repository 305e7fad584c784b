import { describe, expect, it } from 'vitest'
import { HyperLogLog, hashString } from './hyperloglog.ts'
import { TopCounts } from './top-counts.ts'

describe('HyperLogLog', () => {
  it('counts distinct items within a few percent, small and large, in fixed memory', () => {
    for (const n of [0, 1, 10, 1000, 200_000]) {
      const hll = new HyperLogLog(11)
      for (let i = 0; i < n; i++) {
        const id = `visitor-${i}`
        hll.add(hashString(id))
        // Repeats do not count.
        hll.add(hashString(id))
      }
      expect(Math.abs(hll.estimate() - n)).toBeLessThanOrEqual(Math.max(1, n * 0.06))
    }
  })

  it('merges two sketches into the count of their union', () => {
    const a = new HyperLogLog(11)
    const b = new HyperLogLog(11)
    for (let i = 0; i < 30_000; i++) a.add(hashString(`v${i}`))
    for (let i = 20_000; i < 50_000; i++) b.add(hashString(`v${i}`))
    a.merge(b)
    expect(Math.abs(a.estimate() - 50_000)).toBeLessThan(50_000 * 0.06)
  })
})

describe('TopCounts', () => {
  it('keeps the frequent values, never under their true count, in bounded entries', () => {
    const top = new TopCounts(10)
    for (let i = 0; i < 1000; i++) {
      top.add('/home')
      if (i % 2 === 0) top.add('/pricing')
      top.add(`/noise-${i}`)
    }
    const counts = new Map(top.entries())
    expect(counts.size).toBe(10)
    expect(counts.get('/home')).toBeGreaterThanOrEqual(1000)
    expect(counts.get('/pricing')).toBeGreaterThanOrEqual(500)
  })
})
