import { describe, expect, it } from 'vitest'
import { newSessionId, sessionHome } from './session-ids.ts'

describe('session ids', () => {
  it('name the site and tracker session they were made for, whatever their characters', () => {
    for (const [site, client] of [
      ['default', '6f1c2e9a-0b7d-4c1e-9f5a-3d2b1a0c9e8f'],
      ['site-a', '1733580000000.0.123456789'],
      ['ünïcode site', 'a.b.c/d?e=f'],
    ] as const) {
      const id = newSessionId(site, client)
      expect(id).toMatch(/^[0-9a-z]{9}[0-9a-f]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      expect(sessionHome(id)).toEqual({ site_id: site, client_session_id: client })
    }
  })

  it('sort by the time they were made, and differ when made at once', () => {
    const a = newSessionId('s', 'c')
    const b = newSessionId('s', 'c')
    expect(a).not.toBe(b)
    expect(a.slice(0, 9) <= b.slice(0, 9)).toBe(true)
  })

  it('name no home for ids made otherwise (tests, imports of old, hand-written)', () => {
    for (const id of [
      's1',
      '0mfz3k2pq1a2b3c4d5e6f7a8b', // the format before: time and randomness only
      'x.ZGVmYXVsdA.Yw', // not 25 characters before the first dot
      '0mfz3k2pq1a2b3c4d5e6f7a8b.ZGVmYXVsdA', // two parts
      '0mfz3k2pq1a2b3c4d5e6f7a8b.ZGVmYXVsdA.Y+w', // not base64url
      '0mfz3k2pq1a2b3c4d5e6f7a8b.ZGVmYXVsdA.Yx', // does not encode back to itself
    ]) {
      expect(sessionHome(id)).toBeUndefined()
    }
  })
})
