import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from './env.ts'

describe('parseConfig', () => {
  it('gives every default when nothing is set', () => {
    expect(parseConfig({})).toEqual({
      PORT: 8787,
      HOST: '127.0.0.1',
      DATA_DIR: './data',
      EVENT_TTL_HOURS: 24,
      SESSION_TIMEOUT_MINUTES: 30,
      TRUST_PROXY: false,
      LOG_LEVEL: 'info',
      STATS_CACHE_SECONDS: 30,
      LIVE_BUDGET_ENTRIES: 100_000,
      SQLITE_SYNCHRONOUS: 'FULL',
      SQLITE_BUSY_TIMEOUT_MS: 5000,
    })
  })

  it('parses numbers and booleans, and treats empty strings as unset', () => {
    const config = parseConfig({
      PORT: '9000',
      TRUST_PROXY: 'true',
      API_KEY: '',
      EVENT_TTL_HOURS: '48',
    })
    expect(config).toMatchObject({ PORT: 9000, TRUST_PROXY: true, EVENT_TTL_HOURS: 48 })
    expect(config.API_KEY).toBeUndefined()
  })

  it.each([
    ['PORT', 'eighty', /PORT: must be a whole number/],
    ['PORT', '70000', /PORT/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY: must be true or false/],
    ['API_KEY', 'short', /API_KEY: must be 16-128/],
    ['EVENT_TTL_HOURS', '0', /EVENT_TTL_HOURS/],
    ['SQLITE_SYNCHRONOUS', 'OFF', /SQLITE_SYNCHRONOUS/],
    ['LIVE_BUDGET_ENTRIES', '10', /LIVE_BUDGET_ENTRIES/],
    ['SQLITE_BUSY_TIMEOUT_MS', '-1', /SQLITE_BUSY_TIMEOUT_MS/],
    ['SQLITE_MAX_PAGE_COUNT', '0', /SQLITE_MAX_PAGE_COUNT/],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => parseConfig({ [name]: value })).toThrow(message)
  })
})
