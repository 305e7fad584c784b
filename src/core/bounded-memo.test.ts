import { describe, expect, it } from 'vitest'
import { boundedMemo } from './bounded-memo.ts'

describe('boundedMemo', () => {
  it('computes once per key, holds at most `limit` keys, and shares a frozen result', () => {
    const computed: string[] = []
    const upper = boundedMemo(
      2,
      (s: string) => s,
      (s) => {
        computed.push(s)
        return { value: s.toUpperCase() }
      },
    )
    expect(upper('a')).toEqual({ value: 'A' })
    expect(upper('a')).toBe(upper('a'))
    expect(Object.isFrozen(upper('a'))).toBe(true)
    upper('b')
    upper('c') // full: starts over with only "c"
    upper('a')
    expect(computed).toEqual(['a', 'b', 'c', 'a'])
  })
})
