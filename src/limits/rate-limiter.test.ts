import { describe, expect, it } from 'vitest'
import { addressKey, MemoryRateLimiter } from './rate-limiter.ts'

const SEC = 1000
const MIN = 60 * SEC
const T0 = Date.UTC(2026, 0, 1)

/** How many of `count` requests of `key`, all at `now`, are allowed. */
function allowed(limiter: MemoryRateLimiter, key: string, now: number, count: number): number {
  let ok = 0
  for (let i = 0; i < count; i++) if (limiter.take(key, now).ok) ok++
  return ok
}

describe('MemoryRateLimiter', () => {
  it('allows a minute’s worth at once, then refuses and says when the next is allowed', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 60 })
    expect(allowed(limiter, 'a', T0, 60)).toBe(60)
    expect(limiter.take('a', T0)).toEqual({ ok: false, retryAfterS: 1 })
    expect(limiter.take('a', T0 + 999)).toEqual({ ok: false, retryAfterS: 1 })
    expect(limiter.take('a', T0 + SEC)).toEqual({ ok: true })
    expect(limiter.take('a', T0 + SEC)).toEqual({ ok: false, retryAfterS: 1 })
  })

  it('rounds the wait up to whole seconds, at least one', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 1 })
    expect(limiter.take('a', T0).ok).toBe(true)
    expect(limiter.take('a', T0)).toEqual({ ok: false, retryAfterS: 60 })
    expect(limiter.take('a', T0 + 59_500)).toEqual({ ok: false, retryAfterS: 1 })
    expect(limiter.take('a', T0 + MIN).ok).toBe(true)
  })

  it('holds a client that never stops to the rate on average, and refusals cost nothing', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 120 })
    let ok = 0
    // Ten requests a second for ten minutes: a full bucket, then two a second all along (the
    // last refill falls at the 600th second, just after the loop).
    for (let t = 0; t < 10 * MIN; t += 100) if (limiter.take('a', T0 + t).ok) ok++
    expect(ok).toBe(120 + 2 * 600 - 1)
  })

  it('limits each key on its own', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 2 })
    expect(allowed(limiter, 'a', T0, 5)).toBe(2)
    expect(allowed(limiter, 'b', T0, 5)).toBe(2)
    expect(limiter.take('a', T0).ok).toBe(false)
  })

  it('forgets a key once its allowance is full again, when other keys come by', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 60 })
    limiter.take('a', T0)
    limiter.take('b', T0)
    expect(limiter.size).toBe(2)
    // 'a' is full again one interval after its only request.
    limiter.take('c', T0 + SEC)
    expect(limiter.size).toBe(1)
  })

  it('never remembers more than maxKeys, forgetting the least recently used, not all', () => {
    const limiter = new MemoryRateLimiter({ perMinute: 2, maxKeys: 3 })
    expect(allowed(limiter, 'busy', T0, 2)).toBe(2)
    for (let i = 0; i < 100; i++) {
      limiter.take(`visitor-${i}`, T0 + i)
      // The busy client keeps sending (refused): it stays the most recently used, so limited.
      expect(limiter.take('busy', T0 + i).ok).toBe(false)
      expect(limiter.size).toBeLessThanOrEqual(3)
    }
    expect(limiter.size).toBe(3)
  })

  it('refuses a limit below one a minute', () => {
    expect(() => new MemoryRateLimiter({ perMinute: 0 })).toThrow(RangeError)
  })
})

describe('addressKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['', ''],
  ])('keys %s as %s', (ip, key) => {
    expect(addressKey(ip)).toBe(key)
  })
})
