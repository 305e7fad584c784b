import { describe, expect, it } from 'vitest'
import { makeEvent, makeSession } from '../testing/fixtures.ts'
import {
  addEventContribution,
  addSessionChange,
  addSessionContribution,
  addVisitor,
  DeltaAccumulator,
  eventMarks,
  type MarkCandidate,
  markScope,
  visitorRows,
  zeroCounters,
} from './rollup-deltas.ts'
import { COUNTER_NAMES, type Counters, type RollupDelta, type RollupKey } from './types.ts'

const SEOUL = 'Asia/Seoul'
/** 2026-01-01T16:00:00Z = 2026-01-02 01:00 in Seoul. */
const T = Date.parse('2026-01-01T16:00:00.000Z')
/** 2026-01-01 is epoch hour 490896; 16:00 is 16 hours later. */
const HOUR = 490_912
const DAY = '2026-01-02'
const ROW_PREFIXES = [`hour|${HOUR}`, `day|${DAY}`]

/** Deltas as `grain|bucket|dim=value` → the non-zero counters, for readable expectations. */
function table(deltas: RollupDelta[]): Record<string, Partial<Counters>> {
  const out: Record<string, Partial<Counters>> = {}
  for (const { key, counters } of deltas) {
    const id = `${key.grain}|${key.bucket}|${key.dim}=${key.value}`
    expect(out[id], `duplicate row ${id}`).toBeUndefined()
    const nonZero: Partial<Counters> = {}
    for (const name of COUNTER_NAMES) if (counters[name] !== 0) nonZero[name] = counters[name]
    out[id] = nonZero
  }
  return out
}

/** The same rows under the hour and the day prefix of T. */
function inBothGrains(
  rows: Record<string, Partial<Counters>>,
  prefixes = ROW_PREFIXES,
): Record<string, Partial<Counters>> {
  const out: Record<string, Partial<Counters>> = {}
  for (const prefix of prefixes) {
    for (const [row, counters] of Object.entries(rows)) out[`${prefix}|${row}`] = counters
  }
  return out
}

const SESSION_DIM_ROWS = [
  'source=Google',
  'channel=search',
  'browser=Chrome',
  'os=Windows',
  'device=desktop',
  'country=KR',
  'hostname=example.com',
  'screen=desktop',
  'entry_page=/',
]

function sameFor(rows: string[], counters: Partial<Counters>) {
  return Object.fromEntries(rows.map((row) => [row, counters]))
}

const bounceSession = () =>
  makeSession({
    site_id: 'site_1',
    start_time: T,
    end_time: T,
    pageviews: 1,
    interactions: 0,
    source: 'Google',
    channel: 'search',
    entry_page: '/',
    exit_page: '/',
  })

describe('DeltaAccumulator', () => {
  const key: RollupKey = { grain: 'hour', site_id: 'site_1', bucket: 10, dim: 'page', value: '/a' }

  it('leaves out hourly dimension rows before its horizon, keeping totals and days', () => {
    const acc = new DeltaAccumulator(11)
    for (const hour of [10, 11]) {
      const at = { site_id: 'site_1', hour, day: '2026-01-15' }
      acc.addIn(at, '', '', { pageviews: 1 })
      acc.addIn(at, 'page', '/a', { pageviews: 1 })
    }
    const rows = acc
      .deltas()
      .map((d) => [d.key.grain, d.key.bucket, d.key.dim, d.counters.pageviews])
    expect(rows).toEqual([
      ['hour', 10, '', 1],
      ['day', '2026-01-15', '', 2],
      ['day', '2026-01-15', 'page', 2],
      ['hour', 11, '', 1],
      ['hour', 11, 'page', 1],
    ])
  })

  it('merges increments of one row, including via an equal key object', () => {
    const acc = new DeltaAccumulator()
    acc.add(key, { pageviews: 1 })
    acc.add({ ...key }, { pageviews: 2, events: 1 })
    expect(acc.deltas()).toEqual([
      { key, counters: { ...zeroCounters(), pageviews: 3, events: 1 } },
    ])
  })

  it('keeps rows apart by grain, site, bucket, dim and value', () => {
    const acc = new DeltaAccumulator()
    const keys: RollupKey[] = [
      key,
      { ...key, value: '/b' },
      { ...key, site_id: 'site_2' },
      { ...key, bucket: 11 },
      { grain: 'day', site_id: 'site_1', bucket: '10', dim: 'page', value: '/a' },
      { ...key, dim: 'page=/a', value: '' },
      { ...key, dim: '', value: 'page=/a' },
    ]
    for (const k of keys) acc.add(k, { pageviews: 1 })
    expect(acc.deltas().map((d) => d.key)).toEqual(keys)
    expect(acc.deltas().every((d) => d.counters.pageviews === 1)).toBe(true)
  })

  it('subtracts with sign -1', () => {
    const acc = new DeltaAccumulator()
    acc.add(key, { duration_ms: 500, sessions: 1 }, -1)
    expect(table(acc.deltas())).toEqual({ 'hour|10|page=/a': { duration_ms: -500, sessions: -1 } })
  })

  it('drops rows whose counters net to zero, keeps rows with any non-zero counter', () => {
    const acc = new DeltaAccumulator()
    const other = { ...key, value: '/b' }
    acc.add(key, { pageviews: 1 })
    acc.add(key, { pageviews: 1 }, -1)
    acc.add(other, { pageviews: 1, events: 2 })
    acc.add(other, { pageviews: 1 }, -1)
    expect(acc.deltas()).toEqual([{ key: other, counters: { ...zeroCounters(), events: 2 } }])
  })

  it('ignores zero and absent counters', () => {
    const acc = new DeltaAccumulator()
    acc.add(key, { pageviews: 0 })
    acc.add(key, {})
    expect(acc.deltas()).toEqual([])
  })

  it.each([
    // [zone, instant, hour bucket, day bucket]
    ['UTC', '2026-01-01T23:30:00.000Z', 490_919, '2026-01-01'],
    [SEOUL, '2026-01-01T23:30:00.000Z', 490_919, '2026-01-02'],
    [SEOUL, '2026-01-01T14:30:00.000Z', 490_910, '2026-01-01'],
    ['America/New_York', '2026-01-02T03:00:00.000Z', 490_923, '2026-01-01'],
    ['Asia/Kolkata', '2026-01-01T18:45:00.000Z', 490_914, '2026-01-02'],
  ])('addAt in %s at %s writes hour %d and day %s', (zone, iso, hour, day) => {
    const acc = new DeltaAccumulator()
    acc.addAt({ site_id: 'site_1', timestamp: Date.parse(iso), timezone: zone }, '', '', {
      bots: 1,
    })
    expect(acc.deltas().map((d) => d.key)).toEqual([
      { grain: 'hour', site_id: 'site_1', bucket: hour, dim: '', value: '' },
      { grain: 'day', site_id: 'site_1', bucket: day, dim: '', value: '' },
    ])
  })
})

describe('addSessionContribution', () => {
  it('counts a new bounce in its start hour and its Seoul day', () => {
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, bounceSession(), SEOUL, 1)
    expect(table(acc.deltas())).toEqual(
      inBothGrains({
        '=': { sessions: 1, bounces: 1 },
        ...sameFor(SESSION_DIM_ROWS, { sessions: 1, bounces: 1, pageviews: 1 }),
        'exit_page=/': { sessions: 1 },
      }),
    )
  })

  it('uses the site time zone for the day row', () => {
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, bounceSession(), 'UTC', 1)
    const days = new Set(acc.deltas().flatMap((d) => (d.key.grain === 'day' ? [d.key.bucket] : [])))
    expect([...days]).toEqual(['2026-01-01'])
  })

  it('records utm dimensions and the screen only when set, but an empty country always', () => {
    const acc = new DeltaAccumulator()
    const session = {
      ...bounceSession(),
      utm_source: 'newsletter',
      utm_medium: '',
      utm_campaign: 'spring',
      utm_term: '',
      utm_content: 'banner',
      country: '',
      screen: '',
    }
    addSessionContribution(acc, session, SEOUL, 1)
    const hourRows = Object.keys(table(acc.deltas()))
      .filter((row) => row.startsWith('hour|'))
      .map((row) => row.split('|')[2])
    expect(hourRows).toEqual([
      '=',
      'source=Google',
      'channel=search',
      'utm_source=newsletter',
      'utm_campaign=spring',
      'browser=Chrome',
      'os=Windows',
      'device=desktop',
      'country=',
      'hostname=example.com',
      'utm_content=banner',
      'entry_page=/',
      'exit_page=/',
    ])
  })

  it('turns an undone bounce into bounces -1 and the added duration', () => {
    const before = bounceSession()
    const after = { ...before, end_time: T + 90_000, pageviews: 2, exit_page: '/pricing' }
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, before, SEOUL, -1)
    addSessionContribution(acc, after, SEOUL, 1)
    expect(table(acc.deltas())).toEqual(
      inBothGrains({
        '=': { bounces: -1, duration_ms: 90_000 },
        ...sameFor(SESSION_DIM_ROWS, { bounces: -1, duration_ms: 90_000, pageviews: 1 }),
        'exit_page=/': { sessions: -1 },
        'exit_page=/pricing': { sessions: 1 },
      }),
    )
  })

  it('turns an engagement ping into duration only: still a bounce, same exit page', () => {
    const before = bounceSession()
    const after = { ...before, end_time: T + 45_000 }
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, before, SEOUL, -1)
    addSessionContribution(acc, after, SEOUL, 1)
    expect(table(acc.deltas())).toEqual(
      inBothGrains({
        '=': { duration_ms: 45_000 },
        ...sameFor(SESSION_DIM_ROWS, { duration_ms: 45_000 }),
      }),
    )
  })

  it('nets to nothing when a session did not change', () => {
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, bounceSession(), SEOUL, -1)
    addSessionContribution(acc, bounceSession(), SEOUL, 1)
    expect(acc.deltas()).toEqual([])
  })

  it('moves a session whose start moved to the previous Seoul day', () => {
    const before = { ...bounceSession(), end_time: T + 600_000, pageviews: 2 }
    // 14:00Z is 23:00 on 2026-01-01 in Seoul, two epoch hours earlier.
    const after = { ...before, start_time: T - 7_200_000, pageviews: 3, entry_page: '/landing' }
    const acc = new DeltaAccumulator()
    addSessionContribution(acc, before, SEOUL, -1)
    addSessionContribution(acc, after, SEOUL, 1)
    const rows = table(acc.deltas())
    expect(Object.keys(rows)).toHaveLength(44)
    expect(rows).toMatchObject({
      [`hour|${HOUR}|=`]: { sessions: -1, duration_ms: -600_000 },
      [`day|${DAY}|=`]: { sessions: -1, duration_ms: -600_000 },
      [`hour|${HOUR}|entry_page=/`]: { sessions: -1, duration_ms: -600_000, pageviews: -2 },
      'hour|490910|=': { sessions: 1, duration_ms: 7_800_000 },
      'day|2026-01-01|=': { sessions: 1, duration_ms: 7_800_000 },
      'day|2026-01-01|entry_page=/landing': { sessions: 1, duration_ms: 7_800_000, pageviews: 3 },
      'day|2026-01-01|exit_page=/': { sessions: 1 },
    })
  })
})

describe('addEventContribution', () => {
  it('counts page views on the site and per page', () => {
    const acc = new DeltaAccumulator()
    for (const path of ['/blog', '/blog', '/']) {
      addEventContribution(acc, makeEvent({ timestamp: T, path, timezone: SEOUL }), SEOUL)
    }
    expect(table(acc.deltas())).toEqual(
      inBothGrains({
        '=': { pageviews: 3 },
        'page=/blog': { pageviews: 2 },
        'page=/': { pageviews: 1 },
      }),
    )
  })

  it('counts custom events on the site and per name', () => {
    const acc = new DeltaAccumulator()
    for (const event_type of ['signup', 'signup', 'download']) {
      addEventContribution(acc, makeEvent({ timestamp: T, event_type, timezone: SEOUL }), SEOUL)
    }
    expect(table(acc.deltas())).toEqual(
      inBothGrains({
        '=': { events: 3 },
        'event=signup': { events: 2 },
        'event=download': { events: 1 },
      }),
    )
  })

  it('counts nothing for an engagement ping', () => {
    const acc = new DeltaAccumulator()
    addEventContribution(acc, makeEvent({ timestamp: T, event_type: 'engagement' }), SEOUL)
    expect(acc.deltas()).toEqual([])
  })
})

describe('visitor marks', () => {
  it.each([
    ['', '', ''],
    ['page', '/blog', 'page\u001f/blog'],
    ['event', 'signup', 'event\u001fsignup'],
  ])('markScope(%j, %j) = %j', (dim, value, expected) => {
    expect(markScope(dim, value)).toBe(expected)
  })

  it.each([
    [
      'page_view',
      '/blog',
      [
        ['', '', ''],
        ['page', '/blog', 'page\u001f/blog'],
      ],
    ],
    [
      'signup',
      '/blog',
      [
        ['', '', ''],
        ['event', 'signup', 'event\u001fsignup'],
      ],
    ],
    ['engagement', '/blog', [['', '', '']]],
  ])('eventMarks of a %s without a session', (event_type, path, expected) => {
    const event = makeEvent({ timestamp: T, event_type, path, visitor_id: 'v1', timezone: SEOUL })
    expect(eventMarks(event, SEOUL, undefined)).toEqual(
      expected.map(([dim, value, scope]) => ({
        site_id: 'site_1',
        day: DAY,
        scope,
        visitor_id: 'v1',
        // The claiming event itself: its client, time and id.
        claimant: `${event.client_session_id}\u001f${T}\u001f${event.event_id}`,
        timestamp: T,
        timezone: SEOUL,
        dim,
        value,
        session: undefined,
      })),
    )
  })

  it("the site mark counts the visitor under the session's dimensions, on the event's day", () => {
    const session = { ...bounceSession(), visitor_id: 'v1' }
    const event = makeEvent({ timestamp: T, visitor_id: 'v1', timezone: SEOUL })
    const [site] = eventMarks(event, SEOUL, session)
    expect(site).toMatchObject({ site_id: 'site_1', day: DAY, scope: '', visitor_id: 'v1' })
    expect(visitorRows(site as MarkCandidate).map(([dim, value]) => `${dim}=${value}`)).toEqual([
      '=',
      ...SESSION_DIM_ROWS,
    ])
  })

  it('session dimensions include utm values only when the session has them', () => {
    const session = { ...bounceSession(), utm_source: 'newsletter', utm_campaign: 'spring' }
    const [site] = eventMarks(makeEvent({ timestamp: T }), SEOUL, session)
    const rows = visitorRows(site as MarkCandidate).map(([dim, value]) => `${dim}=${value}`)
    expect(rows).toContain('utm_source=newsletter')
    expect(rows).toContain('utm_campaign=spring')
    expect(rows.some((r) => r.startsWith('utm_medium'))).toBe(false)
    expect(rows).toHaveLength(12)
  })

  it('addVisitor counts one visitor in every row of the claimed mark, hour and day', () => {
    const session = bounceSession()
    const [site] = eventMarks(makeEvent({ timestamp: T }), SEOUL, session)
    const acc = new DeltaAccumulator()
    if (!site) throw new Error('expected a site mark')
    addVisitor(acc, site)
    expect(table(acc.deltas())).toEqual(
      inBothGrains(sameFor(['=', ...SESSION_DIM_ROWS], { visitors: 1 })),
    )
  })

  it('addVisitor counts a page mark in the page row only', () => {
    const [, pageMark] = eventMarks(makeEvent({ timestamp: T, path: '/blog' }), SEOUL, undefined)
    const acc = new DeltaAccumulator()
    if (!pageMark) throw new Error('expected a page mark')
    addVisitor(acc, pageMark)
    expect(table(acc.deltas())).toEqual(inBothGrains({ 'page=/blog': { visitors: 1 } }))
  })
})

describe('addSessionChange', () => {
  const base = () => ({ ...bounceSession(), visitor_id: 'v1' })
  const cases: Array<[string, ReturnType<typeof base>, ReturnType<typeof base>]> = [
    [
      'a second page view',
      base(),
      { ...base(), pageviews: 2, end_time: T + 60_000, exit_page: '/b' },
    ],
    ['an engagement ping', base(), { ...base(), end_time: T + 30_000 }],
    ['a custom event', base(), { ...base(), interactions: 1, end_time: T + 5_000 }],
    [
      'an earlier event that moves the start and the source',
      base(),
      {
        ...base(),
        start_time: T - 3_600_000,
        source: 'Direct',
        channel: 'direct',
        entry_page: '/x',
      },
    ],
    ['nothing', base(), base()],
  ]
  it.each(cases)('after %s equals subtracting the old and adding the new', (_, before, after) => {
    const fast = new DeltaAccumulator()
    addSessionChange(fast, before, after, SEOUL)
    const slow = new DeltaAccumulator()
    addSessionContribution(slow, before, SEOUL, -1)
    addSessionContribution(slow, after, SEOUL, 1)
    const sorted = (acc: DeltaAccumulator) => table(acc.deltas())
    expect(sorted(fast)).toEqual(sorted(slow))
  })

  it('a new session adds its whole contribution', () => {
    const fast = new DeltaAccumulator()
    addSessionChange(fast, null, base(), SEOUL)
    const slow = new DeltaAccumulator()
    addSessionContribution(slow, base(), SEOUL, 1)
    expect(table(fast.deltas())).toEqual(table(slow.deltas()))
    expect(fast.deltas().length).toBeGreaterThan(10)
  })
})
