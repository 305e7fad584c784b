import { describe, expect, it } from 'vitest'
import { visitorId } from './visitor-id.ts'

const base = {
  userId: null,
  salt: 'salt-2026-01-01',
  siteId: 'site_1',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 Test',
}

describe('visitorId', () => {
  it('is a 22-character base64url hash, pinned so visitor counts never split mid-day', () => {
    // Computed outside the code under test:
    // printf 'salt-2026-01-01\x1fsite_1\x1f203.0.113.7\x1fMozilla/5.0 Test' | sha256sum
    //   | xxd -r -p | base64 | tr '+/' '-_' | cut -c1-22
    expect(visitorId(base)).toBe('_aQGKWZK-WG41nGy2IZXou')
  })

  it('is deterministic for the same inputs', () => {
    expect(visitorId({ ...base })).toBe(visitorId({ ...base }))
  })

  it.each([
    ['salt', { salt: 'salt-2026-01-02' }],
    ['site', { siteId: 'site_2' }],
    ['ip', { ip: '203.0.113.8' }],
    ['user agent', { userAgent: 'Mozilla/5.0 Other' }],
  ])('changes when the %s changes', (_label, change) => {
    const other = visitorId({ ...base, ...change })
    expect(other).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(other).not.toBe(visitorId(base))
  })

  it('keeps fields apart: moving a character between site and ip changes the id', () => {
    const a = visitorId({ ...base, siteId: 'site_1', ip: '1.2.3.4' })
    const b = visitorId({ ...base, siteId: 'site_', ip: '11.2.3.4' })
    expect(a).not.toBe(b)
  })

  it.each([
    ['another salt', { salt: 'salt-2026-01-02' }],
    ['another ip and agent', { ip: '198.51.100.1', userAgent: 'curl/8' }],
    ['another site', { siteId: 'site_9' }],
  ])('uses "u:<user_id>" for an identified user regardless of %s', (_label, change) => {
    expect(visitorId({ ...base, userId: 'alice' })).toBe('u:alice')
    expect(visitorId({ ...base, ...change, userId: 'alice' })).toBe('u:alice')
  })
})
