import { describe, expect, it } from 'vitest'
import { markHash } from '../../core/mark-hash.ts'
import { MarkSet } from './mark-set.ts'

describe('MarkSet', () => {
  it('holds what a Set holds, across growth, removals and the edge hash 0', () => {
    const marks = new MarkSet(4)
    const reference = new Set<number>()
    const hashes = [
      0,
      2 ** 53 - 1,
      ...Array.from({ length: 5000 }, (_, i) => markHash('s', '', `v${i % 3000}`)),
    ]
    for (const hash of hashes) {
      expect(marks.add(hash)).toBe(!reference.has(hash))
      reference.add(hash)
    }
    expect(marks.size).toBe(reference.size)
    for (const hash of hashes.slice(0, 100)) {
      marks.delete(hash)
      reference.delete(hash)
    }
    for (const hash of hashes) expect(marks.has(hash)).toBe(reference.has(hash))
    expect(marks.size).toBe(reference.size)
    // A removed mark can be claimed again.
    expect(marks.add(hashes[0] as number)).toBe(true)
    expect(marks.has(hashes[0] as number)).toBe(true)
  })
})
