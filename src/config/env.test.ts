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
      TRUST_PROXY: 0,
      CLIENT_ADDRESS_HEADER: '',
      LOG_LEVEL: 'info',
      STATS_CACHE_SECONDS: 30,
      LIVE_BUDGET_ENTRIES: 100_000,
      RECORD_MEMORY_MB: 1024,
      RECORD_SCAN_THREADS: 4,
      SQLITE_SYNCHRONOUS: 'FULL',
      SHUTDOWN_TIMEOUT_SECONDS: 10,
      RATE_LIMIT_PER_MINUTE: 1000,
      MAX_PENDING_REQUESTS: 10_000,
      MAX_PENDING_MB: 32,
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
    expect(config).toMatchObject({ PORT: 9000, TRUST_PROXY: 1, EVENT_TTL_HOURS: 48 })
    expect(config.API_KEY).toBeUndefined()
  })

  it('takes one or two origin secrets, long enough not to be guessed, and an origin alone', () => {
    const a = 'a'.repeat(32)
    const b = 'b'.repeat(40)
    expect(parseConfig({ ORIGIN_SECRETS: a }).ORIGIN_SECRETS).toEqual([a])
    // SSM keeps them one a line; a setting written by hand may use a comma.
    expect(parseConfig({ ORIGIN_SECRETS: `${a}\n${b}\n` }).ORIGIN_SECRETS).toEqual([a, b])
    expect(parseConfig({ ORIGIN_SECRETS: `${a}, ${b}` }).ORIGIN_SECRETS).toEqual([a, b])
    for (const bad of ['short-secret', `${a},${b},${'c'.repeat(32)}`, ' , ']) {
      expect(() => parseConfig({ ORIGIN_SECRETS: bad }), bad).toThrow(ConfigError)
    }
    expect(parseConfig({ PUBLIC_ORIGIN: 'https://d111111abcdef8.cloudfront.net/' })).toMatchObject({
      PUBLIC_ORIGIN: 'https://d111111abcdef8.cloudfront.net',
    })
    expect(parseConfig({ PUBLIC_ORIGIN: 'https://Stats.Example.com:8443' }).PUBLIC_ORIGIN).toBe(
      'https://stats.example.com:8443',
    )
    for (const bad of ['stats.example.com', 'https://stats.example.com/prod', 'ftp://x.example']) {
      expect(() => parseConfig({ PUBLIC_ORIGIN: bad }), bad).toThrow(ConfigError)
    }
  })

  it('takes 0 for the limits that 0 turns off', () => {
    expect(
      parseConfig({
        RATE_LIMIT_PER_MINUTE: '0',
        SHUTDOWN_TIMEOUT_SECONDS: '0',
        RECORD_MEMORY_MB: '0',
        RECORD_SCAN_THREADS: '0',
      }),
    ).toMatchObject({
      RATE_LIMIT_PER_MINUTE: 0,
      SHUTDOWN_TIMEOUT_SECONDS: 0,
      RECORD_MEMORY_MB: 0,
      RECORD_SCAN_THREADS: 0,
    })
  })

  it.each([
    ['true', 1],
    ['yes', 1],
    ['false', 0],
    ['no', 0],
    ['0', 0],
    ['1', 1],
    ['2', 2],
    ['10', 10],
  ])('reads TRUST_PROXY=%s as %i proxies in front', (value, hops) => {
    expect(parseConfig({ TRUST_PROXY: value }).TRUST_PROXY).toBe(hops)
  })

  it.each([
    ['PORT', 'eighty', /PORT: must be a whole number/],
    ['PORT', '70000', /PORT/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY: must be true, false or how many proxies/],
    ['TRUST_PROXY', '11', /TRUST_PROXY: at most 10/],
    ['API_KEY', 'short', /API_KEY: must be 16-128/],
    ['EVENT_TTL_HOURS', '0', /EVENT_TTL_HOURS/],
    ['SQLITE_SYNCHRONOUS', 'OFF', /SQLITE_SYNCHRONOUS/],
    ['LIVE_BUDGET_ENTRIES', '10', /LIVE_BUDGET_ENTRIES/],
    ['RECORD_MEMORY_MB', '-1', /RECORD_MEMORY_MB/],
    ['RECORD_SCAN_THREADS', '65', /RECORD_SCAN_THREADS/],
    ['METRICS_TOKEN', 'too-short', /METRICS_TOKEN: must be 16-256/],
    ['METRICS_TOKEN', 'has a space in it somewhere', /METRICS_TOKEN/],
    ['SHUTDOWN_TIMEOUT_SECONDS', '-1', /SHUTDOWN_TIMEOUT_SECONDS: must be a whole number/],
    ['SHUTDOWN_TIMEOUT_SECONDS', '3601', /SHUTDOWN_TIMEOUT_SECONDS/],
    ['RATE_LIMIT_PER_MINUTE', 'lots', /RATE_LIMIT_PER_MINUTE: must be a whole number/],
    ['MAX_PENDING_REQUESTS', '0', /MAX_PENDING_REQUESTS/],
    ['MAX_PENDING_MB', '0', /MAX_PENDING_MB/],
    ['MAX_PENDING_MB', '1.5', /MAX_PENDING_MB: must be a whole number/],
    ['SQLITE_BUSY_TIMEOUT_MS', '-1', /SQLITE_BUSY_TIMEOUT_MS/],
    ['SQLITE_MAX_PAGE_COUNT', '0', /SQLITE_MAX_PAGE_COUNT/],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError)
    expect(() => parseConfig({ [name]: value })).toThrow(message)
  })
})
