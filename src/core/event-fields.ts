import {
  isHttpUrl,
  MAX_PROP_KEY,
  MAX_PROPS,
  MAX_SCREEN_WIDTH,
  MAX_TEXT,
  MAX_URL,
} from './event-limits.ts'
import type { EventFields } from './event-schema.ts'

const MAX_ENGAGEMENT_MS = 24 * 3_600_000

function text(value: unknown, min: number, max: number): value is string | undefined {
  return (
    value === undefined || (typeof value === 'string' && value.length >= min && value.length <= max)
  )
}

function url(value: unknown): value is string | undefined {
  return (
    value === undefined ||
    (typeof value === 'string' && value.length <= MAX_URL && isHttpUrl(value))
  )
}

function wholeNumber(value: unknown, min: number, max: number): value is number | undefined {
  return (
    value === undefined ||
    (Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)
  )
}

function props(value: unknown): value is EventFields['props'] {
  if (value === undefined) return true
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  if (Object.getPrototypeOf(value) !== Object.prototype) return false
  let count = 0
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false
    if (++count > MAX_PROPS || key.length < 1 || key.length > MAX_PROP_KEY) return false
    const v = (value as Record<string, unknown>)[key]
    if (v === null || typeof v === 'boolean') continue
    if (typeof v === 'number' && Number.isFinite(v)) continue
    if (typeof v === 'string' && v.length <= MAX_TEXT) continue
    return false
  }
  return true
}

/**
 * EventInputSchema's output for an event it accepts without a word, built without zod; undefined
 * for anything else, which then goes to the schema. Zod copies every object it checks and runs a
 * check object per rule, most of the cost of validating an event (bench/NOTES.md). This
 * check is at least as strict as the schema (a parity test holds them together), so it can only
 * send more events to the schema, never accept one the schema refuses.
 */
export function quickEventFields(raw: Record<string, unknown>): EventFields | undefined {
  const {
    session_id,
    timestamp,
    event_type,
    type,
    page_url,
    url: urlAlias,
    referrer,
    user_agent,
    user_id,
    title,
    props: properties,
    event_id,
    engagement_ms,
    screen_width,
  } = raw
  if (
    !text(session_id, 1, 128) ||
    !wholeNumber(timestamp, 1, Number.MAX_SAFE_INTEGER) ||
    !text(event_type, 1, 64) ||
    !text(type, 1, 64) ||
    (event_type === undefined && type === undefined) ||
    !url(page_url) ||
    !url(urlAlias) ||
    (page_url === undefined && urlAlias === undefined) ||
    !text(referrer, 0, MAX_URL) ||
    !text(user_agent, 0, MAX_TEXT) ||
    !text(user_id, 1, 128) ||
    !text(title, 0, MAX_TEXT) ||
    !props(properties) ||
    !text(event_id, 1, 128) ||
    !wholeNumber(engagement_ms, 0, MAX_ENGAGEMENT_MS) ||
    !wholeNumber(screen_width, 0, MAX_SCREEN_WIDTH)
  ) {
    return undefined
  }
  const fields: EventFields = {}
  // Only the keys present, as the schema's output has them.
  if (session_id !== undefined) fields.session_id = session_id
  if (timestamp !== undefined) fields.timestamp = timestamp
  if (event_type !== undefined) fields.event_type = event_type
  if (type !== undefined) fields.type = type
  if (page_url !== undefined) fields.page_url = page_url
  if (urlAlias !== undefined) fields.url = urlAlias
  if (referrer !== undefined) fields.referrer = referrer
  if (user_agent !== undefined) fields.user_agent = user_agent
  if (user_id !== undefined) fields.user_id = user_id
  if (title !== undefined) fields.title = title
  if (properties !== undefined) fields.props = { ...properties }
  if (event_id !== undefined) fields.event_id = event_id
  if (engagement_ms !== undefined) fields.engagement_ms = engagement_ms
  if (screen_width !== undefined) fields.screen_width = screen_width
  return fields
}
