import { ACTIVE_SESSION_MS, LiveWindow, type RealtimeSnapshot } from './live-window.ts'
import type { StoredLiveEvents } from './stored-live-events.ts'

/**
 * A site's live snapshot read from the store alone: its events of the last half hour
 * (StoredLiveEvents, which reads only what is new since its last read). For a host whose
 * instances each see only part of the traffic (Lambda containers), where no window fed by
 * this process's own accepts would be whole.
 */
export async function storedSnapshot(
  stored: StoredLiveEvents,
  siteId: string,
  now: number,
): Promise<RealtimeSnapshot> {
  const window = new LiveWindow(() => now)
  const { events, whole } = await stored.since(siteId, now - ACTIVE_SESSION_MS, now)
  window.seed(siteId, events, whole)
  return window.snapshot(siteId)
}
