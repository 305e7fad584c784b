import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { HttpError } from '../http/envelope.ts'
import { parseQuery } from '../http/query-params.ts'
import { FILTER_SESSION_DIMENSIONS, filterText, MAX_FILTERS, parseFilter } from './stats-filters.ts'
import { buildStatsQuery, STATS_LIST_PARAMS, StatsParamsSchema } from './stats-query.ts'

const NOW = Date.parse('2026-03-10T12:00:00Z')

describe('parseFilter', () => {
  it('reads the three operators', () => {
    expect(parseFilter('country:DE')).toEqual({ dim: 'country', op: 'is', value: 'DE' })
    expect(parseFilter('country!:DE')).toEqual({ dim: 'country', op: 'is_not', value: 'DE' })
    expect(parseFilter('source~:goo')).toEqual({ dim: 'source', op: 'contains', value: 'goo' })
  })

  it('splits at the first colon, so values keep theirs and keys cannot hold one', () => {
    expect(parseFilter('page:/a:b')).toEqual({ dim: 'page', op: 'is', value: '/a:b' })
    expect(parseFilter('prop.a:b:c')).toEqual({ dim: 'prop.a', op: 'is', value: 'b:c' })
  })

  it('takes any property key after prop.', () => {
    expect(parseFilter('prop.plan tier!:free')).toEqual({
      dim: 'prop.plan tier',
      op: 'is_not',
      value: 'free',
    })
  })

  it.each([
    ['country', 'is not DIM:VALUE'],
    ['nope:x', 'unknown dimension "nope"'],
    ['prop.:x', 'unknown dimension "prop."'],
    ['page>:x', 'unknown operator ">:"'],
    ['page!!:x', 'unknown operator "!:"'],
    ['page:', 'has no value'],
    ['page~:', 'has no value'],
  ])('refuses %s', (text, message) => {
    const parsed = parseFilter(text)
    expect('error' in parsed && parsed.error).toContain(message)
  })

  it('writes back what it read, for every dimension and operator', () => {
    for (const dim of [...FILTER_SESSION_DIMENSIONS, 'page', 'event', 'prop.k'] as const) {
      for (const sign of ['', '!', '~']) {
        const text = `${dim}${sign}:v:w`
        const parsed = parseFilter(text)
        expect('error' in parsed).toBe(false)
        if (!('error' in parsed)) expect(filterText(parsed)).toBe(text)
      }
    }
  })
})

describe('the filter parameter', () => {
  const parse = (input: Record<string, unknown>) =>
    StatsParamsSchema.safeParse({ site: 's', ...input })

  it('takes one or many filters and builds them into the query', () => {
    const one = parse({ filter: 'country:DE' })
    const many = parse({ filter: ['country:DE', 'page~:blog', 'country:DE'], props: 'plan' })
    if (!one.success || !many.success) throw new Error('refused')
    const q1 = buildStatsQuery(one.data, 'UTC', NOW)
    const q2 = buildStatsQuery(many.data, 'UTC', NOW)
    expect(q1.filters).toEqual([{ dim: 'country', op: 'is', value: 'DE' }])
    expect(q2.filters).toEqual([
      { dim: 'country', op: 'is', value: 'DE' },
      { dim: 'page', op: 'contains', value: 'blog' },
    ])
    expect(q2.props).toBe('plan')
    expect(q1.props).toBeNull()
  })

  it('keeps the counters their single page: or source: filter, and only that', () => {
    const query = (filter: string | string[]) => {
      const p = parse({ filter })
      if (!p.success) throw new Error('refused')
      return buildStatsQuery(p.data, 'UTC', NOW).filter
    }
    expect(query('page:/pricing')).toEqual({ dim: 'page', value: '/pricing' })
    expect(query('source:Google')).toEqual({ dim: 'source', value: 'Google' })
    expect(query('source!:Google')).toBeNull()
    expect(query('country:DE')).toBeNull()
    expect(query(['page:/a', 'source:Google'])).toBeNull()
  })

  it('refuses more than the limit, naming every bad filter', () => {
    const tooMany = parse({
      filter: Array.from({ length: MAX_FILTERS + 1 }, (_, i) => `page:/${i}`),
    })
    expect(tooMany.success).toBe(false)
    const bad = parse({ filter: ['nope:x', 'page:'] })
    expect(bad.error?.issues.map((i) => i.message)).toEqual([
      'unknown dimension "nope"',
      '"page:" has no value',
    ])
  })
})

describe('parseQuery with repeated parameters', () => {
  const app = new Hono()
  app.get('/', (c) => c.json(parseQuery(c, StatsParamsSchema, STATS_LIST_PARAMS)))
  app.onError((err, c) =>
    err instanceof HttpError ? c.json({ message: err.message }, err.status) : c.text('', 500),
  )

  it('reads every repeat of a list parameter, the first of any other', async () => {
    const res = await app.request('/?site=a&site=b&filter=country:DE&filter=device:mobile')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { site: string; filter: unknown }
    expect(body.site).toBe('a')
    expect(body.filter).toEqual([
      { dim: 'country', op: 'is', value: 'DE' },
      { dim: 'device', op: 'is', value: 'mobile' },
    ])
  })

  it('answers an unknown dimension with a 400 naming it', async () => {
    const res = await app.request('/?site=a&filter=colour:red')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { message: string }).message).toBe(
      'filter: unknown dimension "colour"',
    )
  })
})
