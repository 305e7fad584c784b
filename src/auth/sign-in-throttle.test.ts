import { describe, expect, it } from 'vitest'
import { MemorySignInThrottle } from './sign-in-throttle.ts'

const NOW = Date.UTC(2026, 4, 1, 12, 0)
const MIN = 60_000
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

async function lockOut(throttle: MemorySignInThrottle, ip: string, now: number) {
  for (let i = 0; i < 5; i++) expect((await throttle.reserve(ip, now)).ok).toBe(true)
  expect((await throttle.reserve(ip, now)).ok).toBe(false)
}

describe('MemorySignInThrottle', () => {
  it('keeps a lockout when flooded with failures from other addresses', async () => {
    const throttle = new MemorySignInThrottle()
    await lockOut(throttle, '192.0.2.1', NOW)
    for (let i = 0; i < 30_000; i++) await throttle.reserve(address(i), NOW + 1000)
    expect(await throttle.reserve('192.0.2.1', NOW + 2000)).toMatchObject({ ok: false })
  })

  it('makes room from ended windows first, then from the least recently active addresses', async () => {
    const throttle = new MemorySignInThrottle({ maxEntries: 4 })
    await throttle.reserve('a', NOW)
    await throttle.reserve('b', NOW + 10 * MIN)
    await throttle.reserve('c', NOW + 10 * MIN)
    await throttle.reserve('d', NOW + 10 * MIN)
    await throttle.reserve('b', NOW + 11 * MIN)
    // a's window has ended: it goes, and b keeps its two failures.
    await throttle.reserve('e', NOW + 16 * MIN)
    for (let i = 0; i < 3; i++) await throttle.reserve('b', NOW + 16 * MIN)
    expect((await throttle.reserve('b', NOW + 16 * MIN)).ok).toBe(false)
    // Nothing has ended: c, the least recently active, goes for f.
    await throttle.reserve('f', NOW + 17 * MIN)
    for (let i = 0; i < 4; i++) expect((await throttle.reserve('d', NOW + 17 * MIN)).ok).toBe(true)
    expect((await throttle.reserve('d', NOW + 17 * MIN)).ok).toBe(false)
  })

  it('refuses a new address while the full table holds only live lockouts', async () => {
    const throttle = new MemorySignInThrottle({ maxEntries: 3 })
    for (const ip of ['a', 'b', 'c']) await lockOut(throttle, ip, NOW)
    const refused = await throttle.reserve('d', NOW + MIN)
    expect(refused).toEqual({ ok: false, retryAfterS: 14 * 60 })
    expect((await throttle.reserve('a', NOW + MIN)).ok).toBe(false)
    // Once the lockouts end there is room again.
    expect((await throttle.reserve('d', NOW + 15 * MIN)).ok).toBe(true)
  })

  it('forgets an address on success', async () => {
    const throttle = new MemorySignInThrottle()
    for (let i = 0; i < 4; i++) await throttle.reserve('a', NOW)
    await throttle.succeeded('a')
    for (let i = 0; i < 5; i++) expect((await throttle.reserve('a', NOW)).ok).toBe(true)
  })
})
