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
/** Per zone, quarter-hour number → day: looked up without building a key string. */
const dayCache = new Map<string, Map<number, string>>()

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
  let days = dayCache.get(timeZone)
  if (!days) dayCache.set(timeZone, (days = new Map()))
  const quarter = Math.floor(timestamp / QUARTER_MS)
  let day = days.get(quarter)
  if (day === undefined) {
    day = formatterFor(timeZone).format(timestamp)
    // About a year of quarter hours per zone.
    if (days.size > 35_000) days.clear()
    days.set(quarter, day)
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

const offsetFormatters = new Map<string, Intl.DateTimeFormat>()

/** Minutes the zone is ahead of UTC at an instant (e.g. +540 for Asia/Seoul). */
export function utcOffsetMinutes(timestamp: number, timeZone: string): number {
  let formatter = offsetFormatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
    offsetFormatters.set(timeZone, formatter)
  }
  const parts: Record<string, number> = {}
  for (const part of formatter.formatToParts(timestamp)) parts[part.type] = Number(part.value)
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
  )
  return Math.round((asUtc - Math.floor(timestamp / 60_000) * 60_000) / 60_000)
}

/** The instant a site-local day ("YYYY-MM-DD") begins. */
export function startOfLocalDay(day: string, timeZone: string): number {
  const midnightUtc = Date.parse(`${day}T00:00:00Z`)
  // Guess with the offset at UTC midnight, then correct once for a DST change in between.
  let start = midnightUtc - utcOffsetMinutes(midnightUtc, timeZone) * 60_000
  start = midnightUtc - utcOffsetMinutes(start, timeZone) * 60_000
  return start
}

/** The day `n` days after (or before, when negative) a "YYYY-MM-DD" day. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

/** Whole days from `from` to `to` (0 when equal). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS)
}

/** "YYYY-MM-DDTHH:00" of an epoch hour in a zone: the label of an hourly chart point. */
export function localHourLabel(hour: number, timeZone: string): string {
  const t = hour * HOUR_MS
  const local = new Date(t + utcOffsetMinutes(t, timeZone) * 60_000).toISOString()
  return `${local.slice(0, 13)}:00`
}
