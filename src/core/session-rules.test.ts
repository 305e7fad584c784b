import { describe, expect, it } from 'vitest'
import { MINUTE_MS, makeEvent, makeSession, sequentialIds, T0 } from '../testing/fixtures.ts'
import {
  clientKey,
  isBounce,
  isInteraction,
  type SessionChange,
  sessionize,
} from './session-rules.ts'
import type { EnrichedEvent, SessionState } from './types.ts'

const TIMEOUT = 30 * MINUTE_MS

function run(events: EnrichedEvent[], existing: SessionState[] = []) {
  return sessionize({ events, existing, timeoutMs: TIMEOUT, newId: sequentialIds() })
}

function afters(changes: SessionChange[]): Array<SessionState | null> {
  return changes.map((c) => c.after)
}

describe('isInteraction / isBounce / clientKey', () => {
  it.each([
    ['page_view', false],
    ['engagement', false],
    ['signup', true],
    ['outbound_click', true],
  ])('isInteraction(%s) = %s', (type, expected) => {
    expect(isInteraction(type)).toBe(expected)
  })

  it.each([
    [1, 0, true],
    [2, 0, false],
    [1, 1, false],
    [0, 1, false],
    [0, 0, false],
  ])('pageviews %d, interactions %d → bounce %s', (pageviews, interactions, expected) => {
    expect(isBounce(makeSession({ pageviews, interactions }))).toBe(expected)
  })

  it('keys sessions by site and client session id', () => {
    expect(clientKey('site_1', 'abc')).toBe('site_1\u001fabc')
    expect(clientKey('site_2', 'abc')).not.toBe(clientKey('site_1', 'abc'))
  })
})

describe('sessionize: the 30-minute rule', () => {
  it.each([
    // [gap in minutes, sessions]
    [29, 1],
    [30, 1],
    [31, 2],
  ])('two page views %d minutes apart make %d session(s)', (gap, count) => {
    const { changes } = run([
      makeEvent({ timestamp: T0, path: '/a' }),
      makeEvent({ timestamp: T0 + gap * MINUTE_MS, path: '/b' }),
    ])
    expect(changes).toHaveLength(count)
    expect(changes.every((c) => c.before === null)).toBe(true)
  })

  it('splits a 31-minute gap into two one-page bounces', () => {
    const { changes } = run([
      makeEvent({ timestamp: T0, path: '/a' }),
      makeEvent({ timestamp: T0 + 31 * MINUTE_MS, path: '/b' }),
    ])
    expect(afters(changes)).toEqual([
      makeSession({ id: 's1', start_time: T0, end_time: T0, entry_page: '/a', exit_page: '/a' }),
      makeSession({
        id: 's2',
        start_time: T0 + 31 * MINUTE_MS,
        end_time: T0 + 31 * MINUTE_MS,
        entry_page: '/b',
        exit_page: '/b',
      }),
    ])
  })

  it('joins a 29-minute gap into one two-page session', () => {
    const { changes } = run([
      makeEvent({ timestamp: T0, path: '/a' }),
      makeEvent({ timestamp: T0 + 29 * MINUTE_MS, path: '/b' }),
    ])
    expect(afters(changes)).toEqual([
      makeSession({
        id: 's1',
        start_time: T0,
        end_time: T0 + 29 * MINUTE_MS,
        pageviews: 2,
        entry_page: '/a',
        exit_page: '/b',
      }),
    ])
  })

  it('measures the gap between consecutive events, not from the session start', () => {
    const { changes } = run(
      [0, 20, 40, 60].map((m) => makeEvent({ timestamp: T0 + m * MINUTE_MS })),
    )
    expect(changes).toHaveLength(1)
    expect(changes[0]?.after).toMatchObject({
      start_time: T0,
      end_time: T0 + 60 * MINUTE_MS,
      pageviews: 4,
    })
  })
})

describe('sessionize: the timeout edge, to the millisecond', () => {
  // A gap of exactly the timeout still joins; one millisecond more splits. The same rule
  // holds wherever a gap is measured: after a session, before a stored one, between
  // two stored sessions that a late event brings closer.
  const EDGES = [
    { label: 'exactly the timeout', gap: TIMEOUT, count: 1 },
    { label: 'the timeout and 1 ms', gap: TIMEOUT + 1, count: 2 },
  ]

  it.each(EDGES)('after a session: a gap of $label makes $count session(s)', ({ gap, count }) => {
    const { changes } = run([
      makeEvent({ timestamp: T0, path: '/a' }),
      makeEvent({ timestamp: T0 + gap, path: '/b' }),
    ])
    expect(changes).toHaveLength(count)
  })

  it.each(EDGES)(
    'a late event before a stored session, by a gap of $label, makes $count session(s)',
    ({ gap, count }) => {
      const start = T0 + 60 * MINUTE_MS
      const stored = makeSession({ id: 'stored', start_time: start, end_time: start + MINUTE_MS })
      const late = makeEvent({ timestamp: start - gap, path: '/entry' })
      const { changes, sessionOf } = run([late], [stored])
      const sessions = afters(changes).filter((s) => s !== null)
      if (count === 1) {
        expect(sessions).toMatchObject([{ id: 'stored', start_time: start - gap, pageviews: 2 }])
        expect(sessionOf.get(late)).toBe('stored')
      } else {
        // The stored session is untouched, so only the new one is reported.
        expect(sessions).toMatchObject([{ id: 's1', start_time: start - gap, pageviews: 1 }])
        expect(sessionOf.get(late)).toBe('s1')
      }
    },
  )

  it.each(EDGES)(
    'a late event that grows a stored session to within $label of a later one: $count session(s)',
    ({ gap, count }) => {
      const early = makeSession({ id: 'early', start_time: T0, end_time: T0 })
      // The late event joins `early` (20 minutes after it) and leaves `gap` to `later`.
      const late = makeEvent({ timestamp: T0 + 20 * MINUTE_MS, path: '/middle' })
      const laterStart = late.timestamp + gap
      const later = makeSession({ id: 'later', start_time: laterStart, end_time: laterStart })
      const { changes, sessionOf } = run([late], [early, later])
      expect(sessionOf.get(late)).toBe('early')
      const remaining = afters(changes).filter((s) => s !== null)
      if (count === 1) {
        expect(remaining).toMatchObject([
          { id: 'early', start_time: T0, end_time: laterStart, pageviews: 3 },
        ])
        expect(changes.find((c) => c.after === null)?.before?.id).toBe('later')
      } else {
        expect(remaining).toMatchObject([{ id: 'early', end_time: late.timestamp, pageviews: 2 }])
        expect(changes).toHaveLength(1)
      }
    },
  )

  it.each(EDGES)(
    'a late event that grows a stored session to within $label of an earlier one: $count session(s)',
    ({ gap, count }) => {
      const early = makeSession({ id: 'early', start_time: T0, end_time: T0 })
      // Listed first, `later` takes the late event, which leaves `gap` to `early`.
      const late = makeEvent({ timestamp: T0 + gap, path: '/middle' })
      const laterStart = late.timestamp + 20 * MINUTE_MS
      const later = makeSession({ id: 'later', start_time: laterStart, end_time: laterStart })
      const { changes, sessionOf } = run([late], [later, early])
      const remaining = afters(changes).filter((s) => s !== null)
      if (count === 1) {
        expect(remaining).toMatchObject([
          { id: 'early', start_time: T0, end_time: laterStart, pageviews: 3 },
        ])
        expect(sessionOf.get(late)).toBe('early')
      } else {
        expect(remaining).toMatchObject([
          { id: 'later', start_time: late.timestamp, end_time: laterStart, pageviews: 2 },
        ])
        expect(sessionOf.get(late)).toBe('later')
        expect(changes).toHaveLength(1)
      }
    },
  )
})

describe('sessionize: arrival order', () => {
  const batch = () => [
    makeEvent({ event_id: 'a', timestamp: T0, path: '/', source: 'Google', channel: 'search' }),
    makeEvent({ event_id: 'b', timestamp: T0 + 5 * MINUTE_MS, path: '/pricing' }),
    makeEvent({ event_id: 'c', timestamp: T0 + 12 * MINUTE_MS, event_type: 'signup', path: '/x' }),
    makeEvent({ event_id: 'd', timestamp: T0 + 50 * MINUTE_MS, path: '/docs' }),
    makeEvent({ event_id: 'e', timestamp: T0 + 55 * MINUTE_MS, path: '/docs/api' }),
  ]

  it('gives a shuffled batch the same sessions as a sorted one', () => {
    const sorted = batch()
    const byId = new Map(sorted.map((e) => [e.event_id, e]))
    const shuffled = ['d', 'b', 'e', 'a', 'c'].map((id) => byId.get(id) as EnrichedEvent)

    const fromSorted = run(sorted)
    const fromShuffled = run(shuffled)

    expect(afters(fromShuffled.changes)).toEqual(afters(fromSorted.changes))
    expect(afters(fromSorted.changes)).toEqual([
      makeSession({
        id: 's1',
        start_time: T0,
        end_time: T0 + 12 * MINUTE_MS,
        pageviews: 2,
        interactions: 1,
        entry_page: '/',
        exit_page: '/x',
        source: 'Google',
        channel: 'search',
      }),
      makeSession({
        id: 's2',
        start_time: T0 + 50 * MINUTE_MS,
        end_time: T0 + 55 * MINUTE_MS,
        pageviews: 2,
        entry_page: '/docs',
        exit_page: '/docs/api',
      }),
    ])
    const sessionByEvent = Object.fromEntries(
      shuffled.map((e) => [e.event_id, fromShuffled.sessionOf.get(e)]),
    )
    expect(sessionByEvent).toEqual({ a: 's1', b: 's1', c: 's1', d: 's2', e: 's2' })
  })

  it('lets an earlier event arriving later move start, entry page, hostname, referrer and source', () => {
    const stored = makeSession({
      id: 'stored_1',
      start_time: T0 + 10 * MINUTE_MS,
      end_time: T0 + 15 * MINUTE_MS,
      pageviews: 2,
      entry_page: '/pricing',
      exit_page: '/signup',
    })
    const late = makeEvent({
      timestamp: T0 + 2 * MINUTE_MS,
      path: '/',
      host: 'www.example.com',
      referrer_host: 'mail.example.org',
      source: 'newsletter',
      channel: 'email',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'spring',
      utm_term: 'shoes',
      utm_content: 'hero',
      screen: 'mobile',
    })
    const { changes, sessionOf } = run([late], [stored])

    expect(changes).toEqual([
      {
        before: stored,
        after: {
          ...stored,
          start_time: T0 + 2 * MINUTE_MS,
          pageviews: 3,
          entry_page: '/',
          hostname: 'www.example.com',
          referrer: 'mail.example.org',
          source: 'newsletter',
          channel: 'email',
          utm_source: 'newsletter',
          utm_medium: 'email',
          utm_campaign: 'spring',
          utm_term: 'shoes',
          utm_content: 'hero',
          // Like the browser and device: the client the session was first seen with.
        },
      },
    ])
    expect(sessionOf.get(late)).toBe('stored_1')
    // The caller's stored session is left untouched.
    expect(stored.start_time).toBe(T0 + 10 * MINUTE_MS)
    expect(stored.pageviews).toBe(2)
  })
})

describe('sessionize: bounces and duration', () => {
  it.each<[string, Partial<EnrichedEvent>[], Partial<SessionState>, boolean]>([
    ['one page view', [{ timestamp: T0 }], { pageviews: 1, interactions: 0, end_time: T0 }, true],
    [
      'two page views',
      [{ timestamp: T0 }, { timestamp: T0 + 60_000, path: '/b' }],
      { pageviews: 2, interactions: 0, end_time: T0 + 60_000, exit_page: '/b' },
      false,
    ],
    [
      'page view + custom event',
      [{ timestamp: T0 }, { timestamp: T0 + 20_000, event_type: 'signup' }],
      { pageviews: 1, interactions: 1, end_time: T0 + 20_000 },
      false,
    ],
    [
      'page view + engagement ping',
      [
        { timestamp: T0 },
        { timestamp: T0 + 45_000, event_type: 'engagement', engagement_ms: 45_000 },
      ],
      { pageviews: 1, interactions: 0, end_time: T0 + 45_000 },
      true,
    ],
    [
      'custom event only',
      [{ timestamp: T0, event_type: 'signup' }],
      { pageviews: 0, interactions: 1, end_time: T0 },
      false,
    ],
  ])('%s', (_label, events, expected, bounce) => {
    const { changes } = run(events.map((e) => makeEvent(e)))
    expect(changes).toHaveLength(1)
    const after = changes[0]?.after as SessionState
    expect(after).toMatchObject({ start_time: T0, ...expected })
    expect(isBounce(after)).toBe(bounce)
  })

  it('counts engagement time in the duration without undoing the bounce', () => {
    const { changes } = run([
      makeEvent({ timestamp: T0 }),
      makeEvent({ timestamp: T0 + 45_000, event_type: 'engagement', engagement_ms: 45_000 }),
    ])
    const after = changes[0]?.after as SessionState
    expect(after.end_time - after.start_time).toBe(45_000)
    expect(isBounce(after)).toBe(true)
  })
})

describe('sessionize: stored sessions', () => {
  it('extends a stored session and reports it with its before snapshot', () => {
    const stored = makeSession({ id: 'stored_1', start_time: T0, end_time: T0 })
    const next = makeEvent({ timestamp: T0 + 10 * MINUTE_MS, path: '/b' })
    const newId = () => {
      throw new Error('no new session expected')
    }
    const { changes, sessionOf } = sessionize({
      events: [next],
      existing: [stored],
      timeoutMs: TIMEOUT,
      newId,
    })
    expect(changes).toEqual([
      {
        before: makeSession({ id: 'stored_1', start_time: T0, end_time: T0 }),
        after: makeSession({
          id: 'stored_1',
          start_time: T0,
          end_time: T0 + 10 * MINUTE_MS,
          pageviews: 2,
          exit_page: '/b',
        }),
      },
    ])
    expect(sessionOf.get(next)).toBe('stored_1')
  })

  it('snapshots "before" once, ahead of all of the batch', () => {
    const stored = makeSession({ id: 'stored_1', start_time: T0, end_time: T0 })
    const { changes } = run(
      [
        makeEvent({ timestamp: T0 + MINUTE_MS, path: '/b' }),
        makeEvent({ timestamp: T0 + 2 * MINUTE_MS, path: '/c' }),
      ],
      [stored],
    )
    expect(changes).toHaveLength(1)
    expect(changes[0]?.before).toEqual(stored)
    expect(changes[0]?.after).toMatchObject({ pageviews: 3, exit_page: '/c' })
  })

  it('starts a new session after the timeout and does not report the untouched stored one', () => {
    const stored = makeSession({ id: 'stored_1', start_time: T0, end_time: T0 + 5 * MINUTE_MS })
    const later = makeEvent({ timestamp: T0 + 36 * MINUTE_MS, path: '/again' })
    const { changes, sessionOf } = run([later], [stored])
    expect(changes).toEqual([
      {
        before: null,
        after: makeSession({
          id: 's1',
          start_time: T0 + 36 * MINUTE_MS,
          end_time: T0 + 36 * MINUTE_MS,
          entry_page: '/again',
          exit_page: '/again',
        }),
      },
    ])
    expect(sessionOf.get(later)).toBe('s1')
  })

  it('does not report stored sessions of other clients', () => {
    const other = makeSession({ id: 'other', client_session_id: 'cs_other' })
    const { changes } = run([makeEvent({ timestamp: T0 + MINUTE_MS })], [other])
    expect(changes.map((c) => [c.before, c.after?.id])).toEqual([[null, 's1']])
  })

  it('adopts a user id and a country learnt later in the session', () => {
    const stored = makeSession({ id: 'stored_1', user_id: null, country: '' })
    const { changes } = run(
      [makeEvent({ timestamp: T0 + MINUTE_MS, user_id: 'alice', country: 'DE' })],
      [stored],
    )
    expect(changes[0]?.after).toMatchObject({ user_id: 'alice', country: 'DE' })
  })
})

describe('sessionize: identity', () => {
  it('joins two stored sessions when a late event fills the gap between them', () => {
    const first = makeSession({
      id: 'early',
      start_time: T0,
      end_time: T0 + 10 * MINUTE_MS,
      pageviews: 2,
      entry_page: '/landing',
      exit_page: '/pricing',
      source: 'Google',
    })
    const second = makeSession({
      id: 'later',
      start_time: T0 + 50 * MINUTE_MS,
      end_time: T0 + 55 * MINUTE_MS,
      pageviews: 1,
      interactions: 1,
      entry_page: '/docs',
      exit_page: '/docs',
      source: 'Direct',
    })
    const late = makeEvent({ timestamp: T0 + 30 * MINUTE_MS, path: '/blog' })
    const { changes, sessionOf } = run([late], [second, first])
    const merged = changes.find((c) => c.after)
    expect(merged?.before?.id).toBe('early')
    expect(merged?.after).toMatchObject({
      id: 'early',
      start_time: T0,
      end_time: T0 + 55 * MINUTE_MS,
      pageviews: 4,
      interactions: 1,
      entry_page: '/landing',
      exit_page: '/docs',
      source: 'Google',
    })
    expect(changes.filter((c) => !c.after).map((c) => c.before?.id)).toEqual(['later'])
    expect(sessionOf.get(late)).toBe('early')
  })

  it('lets a new earlier session absorb a stored later one it reaches', () => {
    const stored = makeSession({
      id: 'stored',
      start_time: T0 + 55 * MINUTE_MS,
      end_time: T0 + 60 * MINUTE_MS,
      entry_page: '/later',
      exit_page: '/later',
    })
    const events = [
      makeEvent({ timestamp: T0, path: '/first' }),
      makeEvent({ timestamp: T0 + 29 * MINUTE_MS, path: '/second' }),
    ]
    const { changes, sessionOf } = run(events, [stored])
    expect(changes.map((c) => [c.before?.id ?? null, c.after?.id ?? null])).toEqual([
      [null, 's1'],
      ['stored', null],
    ])
    expect(changes[0]?.after).toMatchObject({
      start_time: T0,
      end_time: T0 + 60 * MINUTE_MS,
      pageviews: 3,
      entry_page: '/first',
      exit_page: '/later',
    })
    expect(events.map((e) => sessionOf.get(e))).toEqual(['s1', 's1'])
  })

  it('never merges different client session ids, even at the same moment', () => {
    const { changes } = run([
      makeEvent({ client_session_id: 'tab_a', timestamp: T0 }),
      makeEvent({ client_session_id: 'tab_b', timestamp: T0 }),
      makeEvent({ client_session_id: 'tab_a', timestamp: T0 + MINUTE_MS, path: '/next' }),
    ])
    expect(afters(changes).map((s) => [s?.id, s?.client_session_id, s?.pageviews])).toEqual([
      ['s1', 'tab_a', 2],
      ['s2', 'tab_b', 1],
    ])
  })

  it('never merges the same client session id across sites', () => {
    const { changes } = run([
      makeEvent({ site_id: 'site_1', timestamp: T0 }),
      makeEvent({ site_id: 'site_2', timestamp: T0 + MINUTE_MS }),
    ])
    expect(afters(changes).map((s) => [s?.id, s?.site_id, s?.pageviews])).toEqual([
      ['s1', 'site_1', 1],
      ['s2', 'site_2', 1],
    ])
  })
})
