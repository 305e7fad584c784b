import type { LiveView } from '../live/live-view.ts'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { storageUnavailable } from './envelope.ts'

/**
 * A site's live snapshot for a route. The window is kept by the accept stage, so while that
 * stage restarts (its worker in the embedded server, about a second) there is none to read:
 * the client is told to retry.
 */
export async function liveSnapshot(live: LiveView, siteId: string): Promise<RealtimeSnapshot> {
  try {
    return await live.snapshot(siteId)
  } catch {
    throw storageUnavailable('the live view is restarting')
  }
}
