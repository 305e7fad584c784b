import { quickEventFields } from './event-fields.ts'
import { EventInputSchema } from './event-schema.ts'
import type { PropValue } from './types.ts'

/** Below this a timestamp is taken as epoch seconds (1e11 ms is 1973; 1e11 s is year 5138). */
const SECONDS_THRESHOLD = 1e11
export const MAX_FUTURE_MS = 5 * 60_000
/** Older events are refused: their day's visitor salt is gone and their session long closed. */
export const MAX_AGE_MS = 24 * 3_600_000

/** A validated event with aliases resolved and the timestamp in epoch milliseconds. */
export interface EventInput {
  session_id: string | null
  timestamp: number
  event_type: string
  page_url: string
  referrer: string
  user_agent: string | null
  user_id: string | null
  title: string
  props: Record<string, PropValue> | null
  event_id: string | null
  engagement_ms: number | null
  screen_width: number | null
}

export type EventParseResult = { ok: true; event: EventInput } | { ok: false; message: string }

export function normalizeTimestamp(value: number): number {
  return value < SECONDS_THRESHOLD ? value * 1000 : value
}

/**
 * Validates one event of a batch on its own; `now` decides what is too old or in the future.
 * A history import lifts the age limit (`maxAgeMs: Infinity`): its events are old by nature.
 */
export function parseEventInput(
  raw: unknown,
  now: number,
  limits: { maxAgeMs: number } = { maxAgeMs: MAX_AGE_MS },
): EventParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, message: 'event must be a JSON object' }
  }
  // The schema decides, and words every rejection; the quick check only saves its cost for
  // the common event it would accept as is (event-fields.ts).
  let e = quickEventFields(raw as Record<string, unknown>)
  if (!e) {
    const result = EventInputSchema.safeParse(raw)
    if (!result.success) {
      const message = result.error.issues
        .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ` : '') + issue.message)
        .join('; ')
      return { ok: false, message }
    }
    e = result.data
  }
  const timestamp = e.timestamp === undefined ? now : normalizeTimestamp(e.timestamp)
  if (timestamp > now + MAX_FUTURE_MS) {
    return { ok: false, message: 'timestamp: more than 5 minutes in the future' }
  }
  if (timestamp < now - limits.maxAgeMs) {
    return { ok: false, message: `timestamp: older than ${limits.maxAgeMs / 3_600_000} hours` }
  }
  return {
    ok: true,
    event: {
      session_id: e.session_id ?? null,
      timestamp,
      // Both refinements above guarantee one of each pair is present.
      event_type: (e.event_type ?? e.type) as string,
      page_url: (e.page_url ?? e.url) as string,
      referrer: e.referrer ?? '',
      user_agent: e.user_agent ?? null,
      user_id: e.user_id ?? null,
      title: e.title ?? '',
      props: e.props ?? null,
      event_id: e.event_id ?? null,
      engagement_ms: e.engagement_ms ?? null,
      screen_width: e.screen_width ?? null,
    },
  }
}
