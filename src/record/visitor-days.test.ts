import { describe, expect, it } from 'vitest'
import { makeSession } from '../testing/fixtures.ts'
import { VisitorDays } from './visitor-days.ts'

type Seen = Array<[string, string, number]>

function firsts(days: VisitorDays): Seen {
  const out: Seen = []
  days.eachFirst((dim, value, at) => out.push([dim, value, at]))
  return out.sort((a, b) => `${a[0]}${a[1]}${a[2]}`.localeCompare(`${b[0]}${b[1]}${b[2]}`))
}

describe('VisitorDays', () => {
  it('keeps the first moment of each visitor-day, whatever order marks come in', () => {
    const days = new VisitorDays()
    const a = days.seen('v', '2026-01-01', 50)
    expect(days.seen('v', '2026-01-01', 20)).toBe(a)
    days.seen('v', '2026-01-02', 90)
    days.seen('w', '2026-01-01', 70)
    expect(days.firstMoments()).toEqual([20, 90, 70])
  })

  // Few marks a day are compared pairwise, many through a map: both must give the same.
  it.each([4, 40])(
    'counts each value once per visitor-day, at its first mark (%i page views)',
    (n) => {
      const days = new VisitorDays()
      const expected: Seen = []
      for (const visitor of ['v', 'w']) {
        const id = days.seen(visitor, '2026-01-01', 0)
        // Pages /0../2 repeated, latest first: the earliest mark of each is the last one given.
        for (let i = n - 1; i >= 0; i--) days.seenUnder(id, 'page', `/${i % 3}`, 1000 + i)
        for (let p = 0; p < Math.min(3, n); p++) expected.push(['page', `/${p}`, 1000 + p])
      }
      days.seenUnder(days.seen('v', '2026-01-02', 5), 'page', '/0', 5000)
      expected.push(['page', '/0', 5000])
      expect(firsts(days)).toEqual(
        expected.sort((a, b) => `${a[0]}${a[1]}${a[2]}`.localeCompare(`${b[0]}${b[1]}${b[2]}`)),
      )
    },
  )

  it('counts a visitor under each value of their sessions that day, at the first session with it', () => {
    const days = new VisitorDays()
    const id = days.seen('v', '2026-01-01', 100)
    const google = makeSession({ source: 'Google', country: 'DE', entry_page: '/a' })
    const direct = makeSession({ source: 'Direct', country: 'DE', entry_page: '/a' })
    days.seenIn(id, direct, 300)
    days.seenIn(id, google, 100)
    const seen = firsts(days)
    expect(seen.filter(([dim]) => dim === 'source')).toEqual([
      ['source', 'Direct', 300],
      ['source', 'Google', 100],
    ])
    expect(seen.filter(([dim]) => dim === 'country')).toEqual([['country', 'DE', 100]])
    expect(seen.filter(([dim]) => dim === 'entry_page')).toEqual([['entry_page', '/a', 100]])
  })
})
