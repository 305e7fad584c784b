import { describe, expect, it } from 'vitest'
import { DAY_MS, HOUR_MS, hourBucket, isValidTimeZone, localDay } from './calendar.ts'

const at = (iso: string) => Date.parse(iso)

describe('hourBucket', () => {
  it.each([
    [0, 0],
    [3_599_999, 0],
    [3_600_000, 1],
    // 2026-01-01 is day 20454 of the epoch: 20454 × 24 = 490896 hours.
    [at('2026-01-01T00:00:00.000Z'), 490_896],
    [at('2026-01-01T00:59:59.999Z'), 490_896],
    [at('2026-01-01T16:00:00.000Z'), 490_912],
    [at('2026-01-01T16:59:59.999Z'), 490_912],
  ])('hourBucket(%d) = %d', (timestamp, expected) => {
    expect(hourBucket(timestamp)).toBe(expected)
  })

  it('uses the constants it exports', () => {
    expect(HOUR_MS).toBe(3_600_000)
    expect(DAY_MS).toBe(86_400_000)
  })
})

describe('localDay', () => {
  it.each([
    // [zone, instant, local day]
    ['UTC', '2026-01-01T00:00:00.000Z', '2026-01-01'],
    ['UTC', '2025-12-31T23:59:59.999Z', '2025-12-31'],
    ['UTC', '2026-01-01T16:00:00.000Z', '2026-01-01'],
    // Asia/Seoul, UTC+9: midnight is 15:00Z.
    ['Asia/Seoul', '2026-01-01T14:59:59.999Z', '2026-01-01'],
    ['Asia/Seoul', '2026-01-01T15:00:00.000Z', '2026-01-02'],
    ['Asia/Seoul', '2026-01-01T16:00:00.000Z', '2026-01-02'],
    // America/New_York in winter, UTC−5: midnight is 05:00Z.
    ['America/New_York', '2026-01-02T04:59:59.999Z', '2026-01-01'],
    ['America/New_York', '2026-01-02T05:00:00.000Z', '2026-01-02'],
    // In summer, UTC−4: midnight is 04:00Z.
    ['America/New_York', '2026-07-04T03:59:59.999Z', '2026-07-03'],
    ['America/New_York', '2026-07-04T04:00:00.000Z', '2026-07-04'],
    // The day after DST starts (Sun 2026-03-08): 04:30Z is 00:30 EDT (it would be 23:30 EST).
    ['America/New_York', '2026-03-09T04:30:00.000Z', '2026-03-09'],
    // The day DST ends (Sun 2026-11-01): 04:30Z next day is 23:30 EST (it would be 00:30 EDT).
    ['America/New_York', '2026-11-02T04:30:00.000Z', '2026-11-01'],
    // Asia/Kolkata, UTC+5:30: midnight is 18:30Z.
    ['Asia/Kolkata', '2026-01-01T18:15:00.000Z', '2026-01-01'],
    ['Asia/Kolkata', '2026-01-01T18:29:59.999Z', '2026-01-01'],
    ['Asia/Kolkata', '2026-01-01T18:30:00.000Z', '2026-01-02'],
    // Asia/Kathmandu, UTC+5:45: midnight is 18:15Z.
    ['Asia/Kathmandu', '2026-01-01T18:14:59.999Z', '2026-01-01'],
    ['Asia/Kathmandu', '2026-01-01T18:15:00.000Z', '2026-01-02'],
  ])('%s at %s is %s', (zone, iso, expected) => {
    expect(localDay(at(iso), zone)).toBe(expected)
  })

  it('answers per zone for the same instant, also when asked again', () => {
    const t = at('2026-01-01T16:00:00.000Z')
    for (let round = 0; round < 2; round++) {
      expect(localDay(t, 'UTC')).toBe('2026-01-01')
      expect(localDay(t, 'Asia/Seoul')).toBe('2026-01-02')
      expect(localDay(t, 'America/New_York')).toBe('2026-01-01')
    }
  })

  it('does not let a cached quarter hour leak into the next one', () => {
    // Same zone, neighbouring quarters on both sides of Kolkata midnight.
    expect(localDay(at('2026-01-02T18:20:00.000Z'), 'Asia/Kolkata')).toBe('2026-01-02')
    expect(localDay(at('2026-01-02T18:35:00.000Z'), 'Asia/Kolkata')).toBe('2026-01-03')
    expect(localDay(at('2026-01-02T18:29:59.999Z'), 'Asia/Kolkata')).toBe('2026-01-02')
  })
})

describe('isValidTimeZone', () => {
  it.each([
    ['UTC', true],
    ['Etc/UTC', true],
    ['Asia/Seoul', true],
    ['America/New_York', true],
    ['Asia/Kolkata', true],
    ['Mars/Olympus', false],
    ['Not a zone', false],
    ['', false],
    ['Asia/Seoul ', false],
    ['GMT+25', false],
  ])('%j → %s', (zone, expected) => {
    expect(isValidTimeZone(zone)).toBe(expected)
  })
})
