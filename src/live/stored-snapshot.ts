import type { RecentEvents } from '../storage/store.ts'
import { ACTIVE_SESSION_MS, LiveWindow, type RealtimeSnapshot } from './live-window.ts'

/** Events read per snapshot at most: past it a flooded site's snapshot is a marked estimate. */
const STORED_READ_LIMIT = 50_000

/**
 * A site's live snapshot read from the store alone: its events of the last half hour, one
 * `liveEventsSince` (a range of one site's keys). For a host whose instances each see only
 * part of the traffic (Lambda containers), where no window kept in memory would be whole.
 */
export async function storedSnapshot(
  store: RecentEvents,
  siteId: string,
  now: number,
): Promise<RealtimeSnapshot> {
  const window = new LiveWindow(() => now)
  const events = await store.liveEventsSince(siteId, now - ACTIVE_SESSION_MS, STORED_READ_LIMIT)
  window.seed(siteId, events, events.length < STORED_READ_LIMIT)
  return window.snapshot(siteId)
}
