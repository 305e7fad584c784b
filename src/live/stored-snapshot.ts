import type { Store } from '../storage/store.ts'
import { ACTIVE_SESSION_MS, LiveWindow, type RealtimeSnapshot } from './live-window.ts'

/**
 * A site's live snapshot read from the store alone: its events of the last half hour, one
 * `liveEventsSince` (a range of one site's keys). For a host whose instances each see only
 * part of the traffic (Lambda containers), where no window kept in memory would be whole.
 */
export async function storedSnapshot(
  store: Store,
  siteId: string,
  now: number,
): Promise<RealtimeSnapshot> {
  const window = new LiveWindow(() => now)
  window.add(await store.liveEventsSince(siteId, now - ACTIVE_SESSION_MS))
  return window.snapshot(siteId)
}
