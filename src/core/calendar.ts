/**
 * Time buckets. Hours are epoch hours (UTC); days are calendar days in the site's time zone,
 * so "today" starts at the site's midnight.
 */
export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS

export function hourBucket(timestamp: number): number {
  return Math.floor(timestamp / HOUR_MS)
}

const formatters = new Map<string, Intl.DateTimeFormat>()
/** Offsets are whole multiples of 15 minutes, so one answer serves every quarter hour. */
const QUARTER_MS = 15 * 60_000
const dayCache = new Map<string, string>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** "YYYY-MM-DD" of `timestamp` in `timeZone` (an IANA name such as "Europe/Berlin"). */
export function localDay(timestamp: number, timeZone: string): string {
  const key = `${timeZone}|${Math.floor(timestamp / QUARTER_MS)}`
  let day = dayCache.get(key)
  if (day === undefined) {
    day = formatterFor(timeZone).format(timestamp)
    if (dayCache.size > 50_000) dayCache.clear()
    dayCache.set(key, day)
  }
  return day
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone)
    return true
  } catch {
    return false
  }
}
