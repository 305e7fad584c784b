import { describe, expect, it } from 'vitest'
import { comparePositions, laterPosition } from './stream-position.ts'

describe('stream positions', () => {
  it('orders decimal text by value, past what a double holds', () => {
    expect(comparePositions('9', '10')).toBeLessThan(0)
    expect(comparePositions('10', '9')).toBeGreaterThan(0)
    expect(comparePositions('42', '42')).toBe(0)
    const big = '4950000000000000000000000000000000000001'
    const bigger = '4950000000000000000000000000000000000002'
    // As doubles these two are equal.
    expect(Number(big)).toBe(Number(bigger))
    expect(comparePositions(big, bigger)).toBeLessThan(0)
    expect(comparePositions(bigger, big)).toBeGreaterThan(0)
  })

  it('keeps the later of two positions', () => {
    expect(laterPosition(undefined, '5')).toBe('5')
    expect(laterPosition('12', '5')).toBe('12')
    expect(laterPosition('5', '12')).toBe('12')
  })
})
