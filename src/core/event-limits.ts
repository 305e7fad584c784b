import { boundedMemo } from './bounded-memo.ts'

/** Limits of one event; generous for real pages, small enough to keep a row cheap. */
export const MAX_URL = 2048
export const MAX_TEXT = 512
export const MAX_PROPS = 30
export const MAX_PROP_KEY = 64
/**
 * Distinct values the record keeps per property key, site and site-local day; later new
 * values are recorded as "(other)" (record/property-limits.ts).
 */
export const MAX_DISTINCT_PROP_VALUES = 1000
/** Wider than any screen; anything above is not a viewport. */
export const MAX_SCREEN_WIDTH = 100_000

/**
 * Pages repeat (a site's traffic names a few hundred URLs again and again), so the WHATWG
 * parse, a large part of validating an event, is remembered.
 */
const httpUrlCheck = boundedMemo(
  4000,
  (value: string) => value,
  (value: string) => {
    if (!URL.canParse(value)) return { ok: false }
    const protocol = new URL(value).protocol
    return { ok: protocol === 'http:' || protocol === 'https:' }
  },
)
export const isHttpUrl = (value: string) => httpUrlCheck(value).ok
