import { describe, expect, it } from 'vitest'
import { quickEventFields } from './event-fields.ts'
import { EventInputSchema } from './event-schema.ts'

const long = (n: number) => 'x'.repeat(n)

/** Values at and around every limit of the schema, and of the wrong types. */
const TEXTS = [
  undefined,
  null,
  '',
  'a',
  long(64),
  long(65),
  long(128),
  long(129),
  long(512),
  long(513),
  long(2048),
  long(2049),
  `https://example.com/${long(2020)}`,
  `https://example.com/${long(2040)}`,
  'https://example.com/page?utm_source=x',
  'http://example.com',
  'ftp://example.com/file',
  'not a url',
  5,
  true,
  {},
  [],
]
const NUMBERS = [
  undefined,
  null,
  0,
  1,
  -1,
  1.5,
  1_767_268_800,
  1_767_268_800_000,
  86_400_000,
  86_400_001,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '5',
]
const tooMany = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, i]))
const justEnough = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]))
const PROPS = [
  undefined,
  null,
  {},
  { plan: 'pro', seats: 3, annual: true, coupon: null },
  { a: long(512) },
  { a: long(513) },
  { '': 1 },
  { [long(64)]: 1 },
  { [long(65)]: 1 },
  justEnough,
  tooMany,
  { a: {} },
  { a: [] },
  { a: Number.POSITIVE_INFINITY },
  [],
  'plan',
  JSON.parse('{"__proto__": {"x": 1}}'),
  Object.assign(Object.create(null), { a: 1 }),
]

const FIELDS: Record<string, readonly unknown[]> = {
  session_id: TEXTS,
  timestamp: NUMBERS,
  event_type: TEXTS,
  type: TEXTS,
  page_url: TEXTS,
  url: TEXTS,
  referrer: TEXTS,
  user_agent: TEXTS,
  user_id: TEXTS,
  title: TEXTS,
  props: PROPS,
  event_id: TEXTS,
  engagement_ms: NUMBERS,
  screen_width: [...NUMBERS, 100_000, 100_001],
  unknown_field: TEXTS,
}

const BASES: Record<string, unknown>[] = [
  { event_type: 'page_view', page_url: 'https://example.com/' },
  { type: 'page_view', url: 'https://example.com/' },
  {
    session_id: 's-1',
    timestamp: 1_767_268_800_000,
    event_type: 'signup',
    page_url: 'https://example.com/pricing?utm_source=x',
    referrer: 'https://www.google.com/',
    user_agent: 'Mozilla/5.0',
    user_id: 'u-1',
    title: 'Pricing',
    props: { plan: 'pro' },
    event_id: 'e-1',
    engagement_ms: 1500,
    screen_width: 1280,
  },
]

function* inputs(): Generator<Record<string, unknown>> {
  for (const base of BASES) {
    yield base
    for (const [field, values] of Object.entries(FIELDS)) {
      for (const value of values) {
        const input = { ...base, [field]: value }
        if (value === undefined) delete input[field]
        yield input
      }
    }
  }
}

describe('quickEventFields', () => {
  it('accepts nothing the schema refuses, and gives what the schema gives for the rest', () => {
    let quick = 0
    let valid = 0
    for (const input of inputs()) {
      const schema = EventInputSchema.safeParse(input)
      if (schema.success) valid++
      const fields = quickEventFields(input)
      if (fields === undefined) continue
      quick++
      expect(schema.success, JSON.stringify(input).slice(0, 200)).toBe(true)
      expect(fields).toStrictEqual(schema.data)
    }
    // It must take (nearly) every valid event, or it saves nothing.
    expect(valid).toBeGreaterThan(300)
    expect(quick / valid).toBeGreaterThan(0.95)
  })

  it('takes a tracker event as it is sent', () => {
    const event = {
      event_type: 'page_view',
      page_url: 'https://example.com/blog/post?utm_source=newsletter',
      referrer: 'https://www.google.com/',
      title: 'A post',
      session_id: 'f3b2c1d0-aaaa-4bbb-8ccc-123456789abc',
      event_id: '0b7c6d5e-1111-4222-8333-abcdefabcdef',
      timestamp: 1_767_268_800_000,
    }
    expect(quickEventFields(event)).toStrictEqual(event)
  })

  it('leaves props it cannot copy as they are to the schema', () => {
    const odd = JSON.parse('{"__proto__": {"x": 1}}')
    expect(quickEventFields({ ...BASES[0], props: odd })).toBeUndefined()
  })
})
