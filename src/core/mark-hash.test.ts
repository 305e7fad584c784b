import { describe, expect, it } from 'vitest'
import { markHash, packMarks, unpackMarks } from './mark-hash.ts'

/** The hash as first written (one string, then the lanes): marks on disk were made with it. */
function hashOfText(siteId: string, scope: string, visitorId: string): number {
  const text = `${siteId}\u001f${scope}\u001f${visitorId}`
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  return (a >>> 0) * 2 ** 21 + ((b >>> 0) & 0x1fffff)
}

describe('markHash', () => {
  it('hashes as the stored marks were hashed, for every kind of scope', () => {
    const cases: Array<[string, string, string]> = [
      ['default', '', 'a1b2c3'],
      ['big', 'page\u001f/pricing', 'f00d'],
      ['site-ü', 'event\u001fsignup', 'user:42'],
      ['', '', ''],
    ]
    for (const [site, scope, visitor] of cases) {
      expect(markHash(site, scope, visitor)).toBe(hashOfText(site, scope, visitor))
    }
    expect(markHash('big', '', 'v1')).not.toBe(markHash('big', '', 'v2'))
  })

  it('packs marks into 8 bytes each and back', () => {
    const hashes = [markHash('s', '', 'a'), markHash('s', 'page\u001f/', 'b'), 2 ** 53 - 1]
    const packed = packMarks(hashes)
    expect(packed.byteLength).toBe(24)
    expect(unpackMarks(packed)).toEqual(hashes)
  })
})
