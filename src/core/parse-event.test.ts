import { describe, expect, it } from 'vitest'
import { normalizeTimestamp, parseEventInput } from './parse-event.ts'

/** 2026-01-01T12:00:00Z */
const NOW = 1_767_268_800_000
const NOW_S = 1_767_268_800
const MIN = 60_000
const HOUR = 3_600_000

const base = { event_type: 'page_view', page_url: 'https://example.com/' }

function parseOk(raw: unknown) {
  const result = parseEventInput(raw, NOW)
  if (!result.ok) throw new Error(`expected a valid event, got: ${result.message}`)
  return result.event
}

function parseError(raw: unknown): string {
  const result = parseEventInput(raw, NOW)
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.event)}`)
  return result.message
}

describe('parseEventInput: valid events', () => {
  it('keeps every field of a complete event', () => {
    const event = parseOk({
      session_id: 'sess-abc',
      timestamp: NOW - 1000,
      event_type: 'page_view',
      page_url: 'https://example.com/pricing?plan=pro',
      referrer: 'https://www.google.com/',
      user_agent: 'Mozilla/5.0 Test',
      user_id: 'user-42',
      title: 'Pricing',
      props: { plan: 'pro', seats: 3, annual: true, coupon: null },
      event_id: 'evt-1',
      engagement_ms: 1500,
      screen_width: 1280,
    })
    expect(event).toEqual({
      session_id: 'sess-abc',
      timestamp: 1_767_268_799_000,
      event_type: 'page_view',
      page_url: 'https://example.com/pricing?plan=pro',
      referrer: 'https://www.google.com/',
      user_agent: 'Mozilla/5.0 Test',
      user_id: 'user-42',
      title: 'Pricing',
      props: { plan: 'pro', seats: 3, annual: true, coupon: null },
      event_id: 'evt-1',
      engagement_ms: 1500,
      screen_width: 1280,
    })
  })

  it('fills absent optional fields with null or ""', () => {
    expect(parseOk({ ...base, timestamp: NOW })).toEqual({
      session_id: null,
      timestamp: NOW,
      event_type: 'page_view',
      page_url: 'https://example.com/',
      referrer: '',
      user_agent: null,
      user_id: null,
      title: '',
      props: null,
      event_id: null,
      engagement_ms: null,
      screen_width: null,
    })
  })

  it('takes a screen_width from 0 to 100000 pixels', () => {
    expect(parseOk({ ...base, screen_width: 0 }).screen_width).toBe(0)
    expect(parseOk({ ...base, screen_width: 100_000 }).screen_width).toBe(100_000)
  })

  it('drops unknown fields', () => {
    expect(parseOk({ ...base, colour: 'red' })).not.toHaveProperty('colour')
  })

  it('accepts `type` and `url` as aliases of event_type and page_url', () => {
    const event = parseOk({ type: 'signup', url: 'http://shop.example.com/done', timestamp: NOW })
    expect(event.event_type).toBe('signup')
    expect(event.page_url).toBe('http://shop.example.com/done')
  })

  it('prefers event_type and page_url when both spellings are present', () => {
    const event = parseOk({
      event_type: 'page_view',
      type: 'ignored',
      page_url: 'https://example.com/a',
      url: 'https://example.com/b',
    })
    expect(event.event_type).toBe('page_view')
    expect(event.page_url).toBe('https://example.com/a')
  })

  it('accepts a session_id of exactly 128 characters', () => {
    expect(parseOk({ ...base, session_id: 'x'.repeat(128) }).session_id).toHaveLength(128)
  })
})

describe('parseEventInput: timestamps', () => {
  it.each([
    ['milliseconds are kept', NOW - MIN, NOW - MIN],
    ['seconds become milliseconds', NOW_S - 60, NOW - MIN],
    ['seconds equal to now', NOW_S, NOW],
    ['exactly 5 minutes ahead is still accepted', NOW + 5 * MIN, NOW + 5 * MIN],
    ['exactly 24 hours old is still accepted', NOW - 24 * HOUR, NOW - 24 * HOUR],
    ['24 hours old, given in seconds', NOW_S - 86_400, NOW - 24 * HOUR],
  ])('%s', (_label, timestamp, expected) => {
    expect(parseOk({ ...base, timestamp }).timestamp).toBe(expected)
  })

  it('defaults a missing timestamp to now', () => {
    expect(parseOk(base).timestamp).toBe(NOW)
  })

  it.each([
    ['1 ms beyond 5 minutes ahead', NOW + 5 * MIN + 1, /more than 5 minutes in the future/],
    ['an hour ahead', NOW + HOUR, /future/],
    ['301 s ahead, given in seconds', NOW_S + 301, /future/],
    // Just below 1e11 is read as seconds: year 5138.
    ['99_999_999_999 (seconds, far future)', 99_999_999_999, /future/],
    // 1e11 itself is milliseconds: 1973.
    ['1e11 (milliseconds, 1973)', 1e11, /older than 24 hours/],
    ['1 ms older than 24 hours', NOW - 24 * HOUR - 1, /older than 24 hours/],
    ['two days old, given in seconds', NOW_S - 2 * 86_400, /older than 24 hours/],
  ])('rejects %s', (_label, timestamp, message) => {
    const error = parseError({ ...base, timestamp })
    expect(error).toMatch(/^timestamp: /)
    expect(error).toMatch(message)
  })

  it.each([
    [1, 1000],
    [99_999_999_999, 99_999_999_999_000],
    [100_000_000_000, 100_000_000_000],
    [NOW, NOW],
  ])('normalizeTimestamp(%d) = %d', (input, expected) => {
    expect(normalizeTimestamp(input)).toBe(expected)
  })
})

describe('parseEventInput: rejected events', () => {
  it.each([
    ['relative page_url', { ...base, page_url: '/pricing' }, 'page_url'],
    ['javascript: page_url', { ...base, page_url: 'javascript:alert(1)' }, 'page_url'],
    ['javascript: url alias', { type: 'page_view', url: 'javascript:alert(1)' }, 'url'],
    ['ftp: page_url', { ...base, page_url: 'ftp://example.com/file' }, 'page_url'],
    ['page_url that is no URL', { ...base, page_url: 'not a url' }, 'page_url'],
    [
      'page_url over 2048 chars',
      { ...base, page_url: `https://e.com/${'a'.repeat(2048)}` },
      'page_url',
    ],
    ['timestamp as a string', { ...base, timestamp: String(NOW) }, 'timestamp'],
    ['fractional timestamp', { ...base, timestamp: NOW + 0.5 }, 'timestamp'],
    ['negative timestamp', { ...base, timestamp: -1 }, 'timestamp'],
    ['props with a nested object', { ...base, props: { a: { b: 1 } } }, 'props.a'],
    ['props with an array value', { ...base, props: { tags: ['x'] } }, 'props.tags'],
    ['props as an array', { ...base, props: ['x'] }, 'props'],
    [
      'props with 31 keys',
      { ...base, props: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, i])) },
      'props',
    ],
    ['session_id of 129 characters', { ...base, session_id: 'x'.repeat(129) }, 'session_id'],
    ['empty session_id', { ...base, session_id: '' }, 'session_id'],
    ['numeric session_id', { ...base, session_id: 42 }, 'session_id'],
    ['numeric event_type', { ...base, event_type: 42 }, 'event_type'],
    ['event_type over 64 chars', { ...base, event_type: 'e'.repeat(65) }, 'event_type'],
    ['negative engagement_ms', { ...base, engagement_ms: -1 }, 'engagement_ms'],
    ['user_id as a number', { ...base, user_id: 7 }, 'user_id'],
    ['negative screen_width', { ...base, screen_width: -1 }, 'screen_width'],
    ['screen_width over 100000', { ...base, screen_width: 100_001 }, 'screen_width'],
    ['fractional screen_width', { ...base, screen_width: 1280.5 }, 'screen_width'],
    ['screen_width as a string', { ...base, screen_width: '1280' }, 'screen_width'],
  ])('rejects %s, naming the field', (_label, raw, field) => {
    expect(parseError(raw).startsWith(`${field}: `)).toBe(true)
  })

  it.each([
    ['null', null],
    ['an array', [base]],
    ['a number', 42],
    ['a string', 'page_view'],
    ['undefined', undefined],
  ])('rejects %s as not an object', (_label, raw) => {
    expect(parseError(raw)).toBe('event must be a JSON object')
  })

  it('names event_type when neither event_type nor type is given', () => {
    const message = parseError({ page_url: 'https://example.com/' })
    expect(message).toContain('event_type')
    expect(message).not.toContain('page_url')
  })

  it('names page_url when neither page_url nor url is given', () => {
    const message = parseError({ event_type: 'page_view' })
    expect(message).toContain('page_url')
    expect(message).not.toContain('event_type')
  })

  it('reports both missing fields of an empty object', () => {
    const message = parseError({})
    expect(message).toContain('event_type')
    expect(message).toContain('page_url')
  })
})
