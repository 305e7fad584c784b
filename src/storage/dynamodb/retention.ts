import { ttlSeconds } from './items.ts'

/** How long the store keeps what it keeps, where it is not the raw events' TTL. */

export const DAY_MS = 86_400_000
/** Visitor marks and salts outlive their day by this much (late events, far time zones). */
export const MARK_KEEP_DAYS = 2
/** Hourly dimension rows serve the rolling "24h" view; day rows keep the history. */
export const HOURLY_DIMENSION_KEEP_HOURS = 72
/** Roll-up checkpoints outlive the stream's 24-hour retention: no record older is redelivered. */
export const CHECKPOINT_KEEP_MS = 3 * DAY_MS

/** When DynamoDB may delete an hourly dimension row: its hour plus the days they serve. */
export function hourlyRowExpiry(bucket: number | string): number {
  const bucketEnd = (Number(bucket) + 1) * 3_600_000
  return ttlSeconds(Math.max(bucketEnd, Date.now()) + HOURLY_DIMENSION_KEEP_HOURS * 3_600_000)
}
