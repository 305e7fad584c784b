import { PAGE_VIEW } from '../core/session-rules.ts'
import {
  type Filter,
  type FilterSessionDimension,
  isEventDimension,
  PROP_PREFIX,
} from '../core/stats-filters.ts'
import type { PropValue } from '../core/types.ts'
import type { RecordEvent, RecordSession } from './session-record.ts'

/**
 * The filters of a query compiled once, then asked of each session: which sessions are kept
 * (every filter a condition on the session, as Plausible's), and which page views of a kept
 * session count (those that meet every `page` condition).
 */
export interface SessionMatch {
  /** Some filter is met by events: sessions without events (`events: null`) cannot answer. */
  needsEvents: boolean
  keeps(session: RecordSession): boolean
  /** Whether a page view of a kept session counts: it meets every `page` condition. */
  countsPage(path: string): boolean
}

type Test = (value: string) => boolean

function valueTest(filter: Filter): Test {
  const wanted = filter.value
  if (filter.op === 'contains') {
    const needle = wanted.toLowerCase()
    return (value) => value.toLowerCase().includes(needle)
  }
  // is_not is applied by the caller, as "not is": a session dimension's value differs, an
  // event dimension's session has no matching event.
  return (value) => value === wanted
}

/** A property value as filters and breakdowns read it: text, and none for a missing key. */
export function propText(value: PropValue | undefined): string | null {
  return value === undefined || value === null ? null : String(value)
}

function eventTest(filter: Filter, test: Test): (event: RecordEvent) => boolean {
  if (filter.dim === 'page') return (e) => e.event_type === PAGE_VIEW && test(e.path)
  if (filter.dim === 'event') return (e) => test(e.event_type)
  const key = filter.dim.slice(PROP_PREFIX.length)
  return (e) => {
    const text = e.props ? propText(e.props[key]) : null
    return text !== null && test(text)
  }
}

function sessionTest(filter: Filter, test: Test): (session: RecordSession) => boolean {
  if (isEventDimension(filter.dim)) {
    const met = eventTest(filter, test)
    return (s) => s.events?.some(met) ?? false
  }
  const dim = filter.dim as FilterSessionDimension
  return (s) => test(s[dim])
}

export function compileFilters(filters: readonly Filter[]): SessionMatch {
  const conditions = filters.map((filter) => {
    const met = sessionTest(filter, valueTest(filter))
    return filter.op === 'is_not' ? (s: RecordSession) => !met(s) : met
  })
  const pageTests = filters
    .filter((f) => f.dim === 'page')
    .map((f) => {
      const test = valueTest(f)
      return f.op === 'is_not' ? (path: string) => !test(path) : test
    })
  const needsEvents = filters.some((f) => isEventDimension(f.dim))
  return {
    needsEvents,
    keeps: (session) =>
      (!needsEvents || session.events !== null) && conditions.every((met) => met(session)),
    countsPage: (path) => pageTests.every((test) => test(path)),
  }
}
