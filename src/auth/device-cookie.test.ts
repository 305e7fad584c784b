import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { DEVICE_TTL_S, deviceCookies } from './device-cookie.ts'

const NOW = Date.UTC(2026, 4, 1, 12, 0)
const key = randomBytes(32)

describe('device cookies', () => {
  it('answers the nonce of its own cookie, a fresh one at every issue', async () => {
    const devices = deviceCookies(key, async () => 'gen-1')
    const first = await devices.nonce(await devices.issue(NOW), NOW)
    const second = await devices.nonce(await devices.issue(NOW), NOW)
    expect(first).toMatch(/^[\w-]{16}$/)
    expect(second).toMatch(/^[\w-]{16}$/)
    expect(first).not.toBe(second)
  })

  it('knows no cookie past its year, of another password generation, or of another key', async () => {
    let generation = 'gen-1'
    const devices = deviceCookies(key, async () => generation)
    const cookie = await devices.issue(NOW)
    expect(await devices.nonce(cookie, NOW + (DEVICE_TTL_S - 1) * 1000)).toBeDefined()
    expect(await devices.nonce(cookie, NOW + DEVICE_TTL_S * 1000)).toBeUndefined()
    expect(await deviceCookies(randomBytes(32), async () => 'gen-1').nonce(cookie, NOW)).toBe(
      undefined,
    )
    generation = 'gen-2'
    expect(await devices.nonce(cookie, NOW)).toBeUndefined()
  })

  it('takes no token signed with the token key itself, whatever its claims', async () => {
    const devices = deviceCookies(key, async () => 'gen-1')
    const issuedAt = Math.floor(NOW / 1000)
    const lookalike = await new SignJWT({ gen: 'gen-1' })
      .setProtectedHeader({ alg: 'HS256', typ: 'li-device' })
      .setSubject('admin')
      .setJti('chosen-nonce')
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 3600)
      .sign(key)
    expect(await devices.nonce(lookalike, NOW)).toBeUndefined()
  })
})
