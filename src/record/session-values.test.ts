import { describe, expect, it } from 'vitest'
import { sessionDimensionValues } from '../core/rollup-deltas.ts'
import { makeSession } from '../testing/fixtures.ts'
import { forEachSessionValue } from './session-values.ts'

describe('forEachSessionValue', () => {
  it.each([
    ['with every value', makeSession({ utm_source: 'nl', utm_term: 't', screen: 'mobile' })],
    ['without UTM values, screen or country', makeSession({ screen: '', country: '' })],
  ])('gives what the roll-up counts a session under, %s', (_, session) => {
    const seen: Array<[string, string]> = []
    forEachSessionValue(session, (dim, value) => seen.push([dim, value]))
    expect(seen).toEqual(sessionDimensionValues(session))
    expect(seen.length).toBeGreaterThan(5)
  })
})
