import { brotliCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { SESSION_FIELDS } from '../../core/session-fields.ts'
import { SiteFold } from '../../fold/site-fold.ts'
import { makeSession } from '../../testing/fixtures.ts'
import { decodeSegment, encodeSegment } from './fold-segments.ts'

/**
 * A window's encoding (fold-segments.ts): what is stored is what is read back, windows of the
 * first encoding (sessions as objects, absolute times) still read, and a window stays small
 * enough to bill one write unit where it can.
 */
const AT = Date.UTC(2026, 0, 15, 10)
const session = makeSession({
  id: 's1',
  site_id: 'site-a',
  client_session_id: 'tab',
  start_time: AT,
  end_time: AT + 60_000,
  user_id: null,
})
const events = [
  { event_id: 'e1', timestamp: AT, event_type: 'page_view', path: '/', props: null },
  {
    event_id: 'e2',
    timestamp: AT + 60_000,
    event_type: 'signup',
    path: '/',
    props: { plan: 'pro' },
  },
]

function fold(): SiteFold {
  const f = new SiteFold('site-a')
  f.timezone = 'Asia/Seoul'
  f.putSession({ session, events })
  f.removeSession('s0', 'tab')
  f.counted.push([123456789, AT], [987654321, AT + 60_000])
  f.marks.push(['2026-01-15', 42])
  return f
}

const contents = (f: SiteFold) => ({
  timezone: f.timezone,
  sessions: [...f.sessions.values()],
  removed: [...f.removed],
  counted: f.counted,
  marks: f.marks,
  deltas: f.deltas.deltas(),
})

describe('a fold window as stored', () => {
  it('reads back as it was written', () => {
    expect(contents(decodeSegment('site-a', encodeSegment(fold())))).toEqual(contents(fold()))
  })

  it('reads a window of the first encoding: sessions as objects, times whole', () => {
    const first = {
      tz: 'Asia/Seoul',
      d: [],
      s: [
        [
          session,
          [
            [0, 'e1', 'page_view', '/'],
            [60_000, 'e2', 'signup', '/', { plan: 'pro' }],
          ],
        ],
      ],
      r: [['s0', 'tab']],
      c: [123456789, AT, 987654321, AT + 60_000],
      m: [['2026-01-15', [42]]],
    }
    const stored = brotliCompressSync(JSON.stringify(first))
    expect(contents(decodeSegment('site-a', stored))).toEqual(contents(fold()))
  })

  it('reads a session field added after a window was written as ""', () => {
    // A row of every field but the last, as a window from before that field was added.
    const row = SESSION_FIELDS.slice(0, -1).map((field) => session[field])
    const older = { v: 2, d: [], s: [[row, null]], r: [], c: [0], m: [] }
    const read = decodeSegment('site-a', brotliCompressSync(JSON.stringify(older)))
    const last = SESSION_FIELDS[SESSION_FIELDS.length - 1] as (typeof SESSION_FIELDS)[number]
    expect(read.sessions.get('s1')?.session).toEqual({ ...session, [last]: '' })
  })

  it('keeps a window of two dozen visits under 1 KB, one write unit', () => {
    // About what a site of a million events a month counts in a 30 s batch at its peak.
    const f = new SiteFold('site-a')
    for (let v = 0; v < 24; v++) {
      const s = {
        ...session,
        id: `${(AT + v).toString(36)}${((v * 2654435761) % 4294967296).toString(16).padStart(8, '0')}`,
        client_session_id: `${((v * 40503) % 65536).toString(16)}-tab`,
        visitor_id: `${(v * 9301 + 49297) % 233280}`,
      }
      f.putSession({ session: s, events })
      f.counted.push(
        [(v * 2654435761) % 4294967296, AT + v * 1000],
        [(v * 40503 * 7919) % 4294967296, AT + 60_000 + v],
      )
      f.marks.push(['2026-01-15', (v * 69069) % 4294967296])
    }
    expect(encodeSegment(f).length).toBeLessThan(1024)
  })
})
