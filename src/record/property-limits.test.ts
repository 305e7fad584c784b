import { describe, expect, it } from 'vitest'
import {
  capDistinctValues,
  DistinctValues,
  limitProps,
  OTHER_VALUE,
  RECORD_LIMITS,
  valueKey,
} from './property-limits.ts'

describe('limitProps: the per-event limits', () => {
  it('keeps props within the limits as they are', () => {
    expect(limitProps({ plan: 'pro', seats: 3, trial: false, coupon: null })).toEqual({
      plan: 'pro',
      seats: 3,
      trial: false,
      coupon: null,
    })
    expect(limitProps(null)).toBeNull()
    expect(limitProps({})).toBeNull()
  })

  it('keeps the first keys in the order sent, drops the rest', () => {
    const many = Object.fromEntries(
      Array.from({ length: RECORD_LIMITS.keysPerEvent + 5 }, (_, i) => [`k${i}`, i]),
    )
    const kept = limitProps(many) ?? expect.fail()
    expect(Object.keys(kept)).toHaveLength(RECORD_LIMITS.keysPerEvent)
    expect(kept.k0).toBe(0)
    expect(kept[`k${RECORD_LIMITS.keysPerEvent}`]).toBeUndefined()
  })

  it('cuts long keys and string values; a cut key landing on another keeps the first', () => {
    const long = 'k'.repeat(RECORD_LIMITS.keyLength)
    const kept = limitProps({
      [long]: 'first',
      [`${long}x`]: 'second',
      text: 'v'.repeat(RECORD_LIMITS.valueLength + 10),
    })
    expect(kept).toEqual({ [long]: 'first', text: 'v'.repeat(RECORD_LIMITS.valueLength) })
  })
})

describe('capDistinctValues: distinct values per key, site and day', () => {
  it('tells values apart by their JSON text and does not count null', () => {
    expect(valueKey('1')).not.toBe(valueKey(1))
    expect(valueKey(null)).toBeNull()
  })

  it('records values past the cap as "(other)", known ones as sent', () => {
    const state = new DistinctValues()
    const admit = (day: string) => (key: string, value: string) =>
      state.admit('site-a', day, key, value)
    const cap = RECORD_LIMITS.distinctValuesPerKeyPerDay
    for (let i = 0; i < cap; i++) {
      expect(capDistinctValues({ order: `o${i}` }, admit('2026-01-15'))).toEqual({
        order: `o${i}`,
      })
    }
    // A new value past the cap; a known one, another key and another day still pass.
    expect(
      capDistinctValues({ order: 'late', plan: 'pro', none: null }, admit('2026-01-15')),
    ).toEqual({ order: OTHER_VALUE, plan: 'pro', none: null })
    expect(capDistinctValues({ order: 'o7' }, admit('2026-01-15'))).toEqual({ order: 'o7' })
    expect(capDistinctValues({ order: 'late' }, admit('2026-01-16'))).toEqual({ order: 'late' })
    expect(state.admit('site-b', '2026-01-15', 'order', '"late"')).toBe(true)
  })

  it('leaves the props it was given unchanged', () => {
    const props = { order: 'x' }
    expect(capDistinctValues(props, () => false)).toEqual({ order: OTHER_VALUE })
    expect(props).toEqual({ order: 'x' })
  })
})
