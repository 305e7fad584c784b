import {
  MAX_DISTINCT_PROP_VALUES,
  MAX_PROP_KEY,
  MAX_PROPS,
  MAX_TEXT,
} from '../core/event-limits.ts'
import type { PropValue } from '../core/types.ts'

/**
 * The record's limits on custom properties (issue 26, item 2), documented in /docs.
 *
 * Keys per event, key length and value length are the collector's own limits
 * (core/event-limits.ts): there an event over them is refused with its reason, so the sender
 * learns, and a value is never silently cut into another value. Here they are applied again
 * to what reaches the record by any other way (an import, an older queue row), by dropping
 * keys and truncating values, never by refusing: the event is counted already, and a record
 * that lost it would disagree with the counters.
 *
 * Distinct values per key per site and day are the record's own limit: a key's values
 * become a breakdown, and a key sent with an id or a timestamp in it would grow that
 * breakdown (and the state that tells a new value from a known one) without bound. The first
 * `MAX_DISTINCT_VALUES` values of a key on a site-local day are kept as sent; every later
 * new one is recorded as "(other)", so counts by key stay whole and the breakdown shows how
 * much fell past the cap.
 */
export const RECORD_LIMITS = {
  keysPerEvent: MAX_PROPS,
  keyLength: MAX_PROP_KEY,
  valueLength: MAX_TEXT,
  distinctValuesPerKeyPerDay: MAX_DISTINCT_PROP_VALUES,
} as const

/** What a value past the distinct-values cap is recorded as. */
export const OTHER_VALUE = '(other)'

/**
 * Props within the per-event limits: the first `keysPerEvent` keys in the order sent, keys
 * and string values cut to their lengths (a key cut onto an earlier key keeps the earlier
 * one's value). null when nothing is left.
 */
export function limitProps(
  props: Record<string, PropValue> | null | undefined,
): Record<string, PropValue> | null {
  if (!props) return null
  const out: Record<string, PropValue> = {}
  let keys = 0
  for (const [rawKey, rawValue] of Object.entries(props)) {
    if (keys === RECORD_LIMITS.keysPerEvent) break
    const key = rawKey.slice(0, RECORD_LIMITS.keyLength)
    if (key === '' || Object.hasOwn(out, key)) continue
    out[key] =
      typeof rawValue === 'string' ? rawValue.slice(0, RECORD_LIMITS.valueLength) : rawValue
    keys += 1
  }
  return keys === 0 ? null : out
}

/**
 * How a value is told apart from the key's other values of the day: its JSON text, so
 * "1" and 1 are two values, as a breakdown shows them. null is no value and is not counted.
 */
export function valueKey(value: PropValue): string | null {
  return value === null ? null : JSON.stringify(value)
}

/**
 * The props with every value the cap does not admit replaced by "(other)". `admit` is the
 * store's state of the day: it answers whether (key, value) is known or still fits under the
 * cap, and records it if new, so it is asked once per key and value of an event, in order.
 */
export function capDistinctValues(
  props: Record<string, PropValue> | null,
  admit: (key: string, value: string) => boolean,
): Record<string, PropValue> | null {
  if (!props) return null
  let out: Record<string, PropValue> | undefined
  for (const [key, value] of Object.entries(props)) {
    const text = valueKey(value)
    if (text === null || admit(key, text)) continue
    out ??= { ...props }
    out[key] = OTHER_VALUE
  }
  return out ?? props
}

/**
 * The cap's state held in memory (a store without a table for it, and tests): known values
 * per site, day and key.
 */
export class DistinctValues {
  private readonly known = new Map<string, Set<string>>()

  admit(siteId: string, day: string, key: string, value: string): boolean {
    const scope = `${siteId}\u001f${day}\u001f${key}`
    let values = this.known.get(scope)
    if (!values) {
      values = new Set()
      this.known.set(scope, values)
    }
    if (values.has(value)) return true
    if (values.size >= RECORD_LIMITS.distinctValuesPerKeyPerDay) return false
    values.add(value)
    return true
  }
}
