import { describe, expect, it } from 'vitest'
import { MemorySignInAttempts } from './memory-sign-in-attempts.ts'
import { SignInThrottle } from './sign-in-throttle.ts'

const NOW = Date.UTC(2026, 4, 1, 12, 0)
const SEC = 1000
const MIN = 60_000
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

/** Five free failures, then the first wait (a minute). */
async function lockOut(throttle: SignInThrottle, ip: string, now: number) {
  for (let i = 0; i < 5; i++) expect((await throttle.reserve({ address: ip }, now)).ok).toBe(true)
  expect(await throttle.reserve({ address: ip }, now)).toEqual({ ok: false, retryAfterS: 60 })
}

describe('SignInThrottle: per address', () => {
  it('doubles the wait with each failure past the fifth, up to 15 minutes', async () => {
    const throttle = new SignInThrottle()
    await lockOut(throttle, 'a', NOW)
    let now = NOW
    for (const wait of [60, 120, 240, 480, 900, 900]) {
      expect(await throttle.reserve({ address: 'a' }, now + wait * SEC - 1)).toMatchObject({
        ok: false,
      })
      now += wait * SEC
      expect((await throttle.reserve({ address: 'a' }, now)).ok).toBe(true)
    }
    expect(await throttle.reserve({ address: 'a' }, now)).toEqual({ ok: false, retryAfterS: 900 })
  })

  it('forgets the failures after an hour without one', async () => {
    const throttle = new SignInThrottle()
    await lockOut(throttle, 'a', NOW)
    expect((await throttle.reserve({ address: 'a' }, NOW + 59 * MIN)).ok).toBe(true)
    // That was a failure too: the hour starts again, and the wait after it was two minutes.
    expect(await throttle.reserve({ address: 'a' }, NOW + 60 * MIN)).toMatchObject({ ok: false })
    await lockOut(throttle, 'a', NOW + 119 * MIN)
  })

  it('forgets an address on success', async () => {
    const throttle = new SignInThrottle()
    for (let i = 0; i < 4; i++) await throttle.reserve({ address: 'a' }, NOW)
    await throttle.succeeded({ address: 'a' }, NOW)
    await lockOut(throttle, 'a', NOW)
  })
})

describe('SignInThrottle: a full table', () => {
  it('keeps a lockout when flooded with failures from other addresses', async () => {
    // Without the global slow-down, which would refuse most of the flood before the table.
    const throttle = new SignInThrottle({ globalThreshold: Number.POSITIVE_INFINITY })
    await lockOut(throttle, '192.0.2.1', NOW)
    for (let i = 0; i < 30_000; i++) {
      expect((await throttle.reserve({ address: address(i) }, NOW + SEC)).ok).toBe(true)
    }
    expect(await throttle.reserve({ address: '192.0.2.1' }, NOW + 2 * SEC)).toEqual({
      ok: false,
      retryAfterS: 58,
    })
  })

  it('makes room from forgotten addresses first, then from the least recently active', async () => {
    const throttle = new SignInThrottle({ attempts: new MemorySignInAttempts({ maxEntries: 4 }) })
    await throttle.reserve({ address: 'a' }, NOW)
    await throttle.reserve({ address: 'b' }, NOW + 10 * MIN)
    await throttle.reserve({ address: 'c' }, NOW + 10 * MIN)
    await throttle.reserve({ address: 'd' }, NOW + 10 * MIN)
    await throttle.reserve({ address: 'b' }, NOW + 11 * MIN)
    // a's failure is forgotten: it goes, and b keeps its two failures.
    await throttle.reserve({ address: 'e' }, NOW + 61 * MIN)
    for (let i = 0; i < 3; i++) await throttle.reserve({ address: 'b' }, NOW + 61 * MIN)
    expect((await throttle.reserve({ address: 'b' }, NOW + 61 * MIN)).ok).toBe(false)
    // Nothing is forgotten: c, the least recently active, goes for f.
    await throttle.reserve({ address: 'f' }, NOW + 62 * MIN)
    for (let i = 0; i < 4; i++)
      expect((await throttle.reserve({ address: 'd' }, NOW + 62 * MIN)).ok).toBe(true)
    expect((await throttle.reserve({ address: 'd' }, NOW + 62 * MIN)).ok).toBe(false)
  })

  it('refuses a new address while the full table holds only live lockouts', async () => {
    const throttle = new SignInThrottle({ attempts: new MemorySignInAttempts({ maxEntries: 3 }) })
    for (const ip of ['a', 'b', 'c']) await lockOut(throttle, ip, NOW)
    expect(await throttle.reserve({ address: 'd' }, NOW + 20 * SEC)).toEqual({
      ok: false,
      retryAfterS: 40,
    })
    expect((await throttle.reserve({ address: 'a' }, NOW + 20 * SEC)).ok).toBe(false)
    // Once a lockout ends, its address may be dropped for a new one.
    expect((await throttle.reserve({ address: 'd' }, NOW + MIN)).ok).toBe(true)
  })
})

describe('SignInThrottle: the global slow-down', () => {
  it('admits one attempt per 10 s from anywhere once 100 failures came within 15 minutes', async () => {
    const throttle = new SignInThrottle()
    for (let i = 0; i < 100; i++) {
      expect((await throttle.reserve({ address: address(i % 25) }, NOW + i * SEC)).ok).toBe(true)
    }
    const at = NOW + 100 * SEC
    expect(await throttle.reserve({ address: 'fresh-1' }, at)).toEqual({
      ok: false,
      retryAfterS: 9,
    })
    expect((await throttle.reserve({ address: 'fresh-1' }, at + 9 * SEC)).ok).toBe(true)
    expect(await throttle.reserve({ address: 'fresh-2' }, at + 10 * SEC)).toEqual({
      ok: false,
      retryAfterS: 9,
    })
    expect((await throttle.reserve({ address: 'fresh-2' }, at + 19 * SEC)).ok).toBe(true)
    // The right password gives its attempt back, but the slot it took stays taken.
    await throttle.succeeded({ address: 'fresh-2' }, at + 19 * SEC)
    expect((await throttle.reserve({ address: 'fresh-3' }, at + 20 * SEC)).ok).toBe(false)
    // Fifteen quiet minutes later the spike has passed.
    const later = at + 16 * MIN
    expect((await throttle.reserve({ address: 'fresh-4' }, later)).ok).toBe(true)
    expect((await throttle.reserve({ address: 'fresh-5' }, later)).ok).toBe(true)
  })
})

describe('SignInThrottle: device cookies', () => {
  it("counts a device cookie's failures against it alone, from any address, even during a spike", async () => {
    const throttle = new SignInThrottle()
    for (let i = 0; i < 100; i++) await throttle.reserve({ address: address(i) }, NOW)
    expect((await throttle.reserve({ address: 'fresh' }, NOW + SEC)).ok).toBe(false)
    for (let i = 0; i < 5; i++) {
      expect((await throttle.reserve({ address: address(i), device: 'n1' }, NOW + SEC)).ok).toBe(
        true,
      )
    }
    expect(await throttle.reserve({ address: 'other', device: 'n1' }, NOW + SEC)).toEqual({
      ok: false,
      retryAfterS: 60,
    })
    // Another device cookie has its own allowance.
    expect((await throttle.reserve({ address: 'other', device: 'n2' }, NOW + SEC)).ok).toBe(true)
  })

  it("leaves the address's failures alone when a device cookie signs in from it", async () => {
    const throttle = new SignInThrottle()
    await lockOut(throttle, 'shared', NOW)
    expect((await throttle.reserve({ address: 'shared', device: 'n1' }, NOW)).ok).toBe(true)
    await throttle.succeeded({ address: 'shared', device: 'n1' }, NOW)
    expect((await throttle.reserve({ address: 'shared' }, NOW)).ok).toBe(false)
  })

  it('lets only five of many concurrent attempts on one device cookie through', async () => {
    const throttle = new SignInThrottle()
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        throttle.reserve({ address: address(i), device: 'n1' }, NOW),
      ),
    )
    expect(answers.filter((answer) => answer.ok).length).toBe(5)
  })
})
