import { createHash } from 'node:crypto'

/**
 * Every key the DynamoDB store writes, in one place. Site ids are host-name shaped (no '#'),
 * so a site id always ends at the first '#'; a free-form part (a tracker session id, a
 * dimension value) always comes last.
 */

/** Times in keys: 13 digits of epoch ms sort as text until the year 2286. */
export function timeKey(timestamp: number): string {
  return String(Math.max(0, Math.trunc(timestamp))).padStart(13, '0')
}

/** Events of one tracker session share a partition, and so a stream shard (README.md). */
export function clientPartition(siteId: string, clientSessionId: string): string {
  return `${siteId}#${clientSessionId}`
}

/**
 * An event's sort key under its tracker session's partition: time first. Events are no
 * longer stored one per item; this is their identity, by which the roll-up counts each once
 * (the stream's `origin`, fold-state.ts), as it was when they were.
 */
export function eventSortKey(timestamp: number, eventId: string): string {
  return `${timeKey(timestamp)}#${eventId}`
}

/**
 * A site's collector requests, one item each, all in one partition sorted by their latest
 * event's time (request-items.ts, README.md "The Events table"). `~` is in no host name.
 */
export function requestPartition(siteId: string): string {
  return `${siteId}#~req`
}

/** Bot hits of a site spread over a few partitions: a bot flood must not heat one. */
export const BOT_PARTITIONS = 8
export function botPartition(siteId: string, spread: number): string {
  return `${siteId}#~bot${spread % BOT_PARTITIONS}`
}

/** A user's key in the user indexes: user ids are unique per site only. */
export function userKey(siteId: string, userId: string): string {
  return `${siteId}#${userId}`
}

/** Counters of one site, grain and dimension live in one partition, sorted by bucket. */
export function statsPartition(siteId: string, grain: 'hour' | 'day', dim: string): string {
  return `${siteId}#${grain}#${dim}`
}

/** Buckets sort as text: epoch hours padded to 8 digits, days as YYYY-MM-DD. */
export function bucketKey(bucket: number | string): string {
  return typeof bucket === 'number' ? String(bucket).padStart(8, '0') : bucket
}

/**
 * A free-form value (a page path of up to 2 KB, a source) as a key part. DynamoDB takes sort
 * keys of at most 1,024 bytes and partition keys of 2,048: a value longer than a key can
 * carry keeps its first bytes, for order, and a hash of the whole, for identity. The item
 * always keeps the value itself in an attribute of its own, which is what reads return.
 */
export const KEY_VALUE_BYTES = 512
export function keyValue(value: string): string {
  if (Buffer.byteLength(value) <= KEY_VALUE_BYTES) return value
  const head = Buffer.from(value)
    .subarray(0, 400)
    .toString('utf8')
    .replace(/\uFFFD+$/, '')
  return `${head}~${createHash('sha256').update(value).digest('base64url')}`
}

export function statsSortKey(bucket: number | string, value: string): string {
  return `${bucketKey(bucket)}#${keyValue(value)}`
}

/** State-table partitions (one table for the small things: README.md). */
export const STATE = {
  sitesPk: 'site',
  saltsPk: 'salt',
  openPlansPk: 'plan-open',
  sweepPk: 'sweep',
  one: '-',
  apiKey: (key: string) => `key#${key}`,
  setting: (name: string) => `setting#${name}`,
  mark: (siteId: string, day: string, scope: string, visitorId: string) =>
    `mark#${siteId}#${day}#${visitorId}#${keyValue(scope)}`,
  version: (siteId: string) => `version#${siteId}`,
  /** The record's per-site item: `since` and `longest` (record.ts). */
  record: (siteId: string) => `record#${siteId}`,
  /** A site's packed days (record-packs.ts): sort key `DAY#NNN`, a day's parts. */
  packs: (siteId: string) => `pack#${siteId}`,
  checkpoint: (stream: string) => `ckpt#${stream}`,
  /** A site's folded windows (fold-segments.ts): sort key the window's 12-digit number. */
  foldWindows: (siteId: string) => `fold#${siteId}`,
  /** A site's counter summaries (counter-summaries.ts): `d#DAY`, `h#DAY`, `through`. */
  counterSummaries: (siteId: string) => `fsum#${siteId}`,
  /** The last window copied into the Sessions table (session-projection.ts). */
  sessionCopy: (siteId: string) => `fproj#${siteId}`,
  /** The sweep's copies of a site's sessions, one item a copy (copy-batches.ts). */
  copyBatches: (siteId: string) => `fcb#${siteId}`,
  plan: (id: string) => `plan#${id}`,
  deadLetters: (stream: string) => `dead#${stream}`,
  /** How many items the dead letters hold, and the earliest event time among them. */
  setAsidePk: 'dead-summary',
  /** How long the latest Lambda batch's oldest event waited to be counted (rollup-lag.ts). */
  rollupLagPk: 'rollup-lag',
  /** A sign-in lockout record (sign-in-attempts.ts): `addr:…`, `device:…`, `untrusted:next`. */
  signIn: (key: string) => `signin#${keyValue(key)}`,
  /** Untrusted sign-in failures, one item per minute, all in one partition. */
  signInMinutesPk: 'signin-minutes',
  signInMinute: (minute: number) => String(Math.max(0, Math.trunc(minute))).padStart(10, '0'),
} as const

/**
 * Positions per stream record: one record (a collector request's item) holds up to
 * REQUEST_MAX_EVENTS events (request-items.ts), each an entry of the roll-up with a position
 * of its own, so a unit may take part of a record and a dead letter keeps one event.
 */
export const POSITIONS_PER_RECORD = 1000n

/**
 * Stream sequence numbers as positions: decimal text without leading zeros, the record's
 * sequence number times POSITIONS_PER_RECORD plus the entry's index in it, so the entries of
 * one record follow each other and come before the next record's.
 */
export function positionOf(sequenceNumber: string, index = 0): string {
  if (index < 0 || BigInt(index) >= POSITIONS_PER_RECORD) {
    throw new Error(`stream record: entry ${index} is past the positions a record has`)
  }
  return (BigInt(sequenceNumber) * POSITIONS_PER_RECORD + BigInt(index)).toString()
}

/** The last position a record may have: a record delivered whole is through it. */
export function lastPositionOf(sequenceNumber: string): string {
  return (BigInt(sequenceNumber) * POSITIONS_PER_RECORD + POSITIONS_PER_RECORD - 1n).toString()
}
