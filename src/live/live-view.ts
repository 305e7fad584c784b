import type { RealtimeSnapshot } from './live-window.ts'

/**
 * The live view as the HTTP app sees it: a snapshot of a site on request, and a signal per
 * site when new events were stored, which open streams turn into pushes.
 *
 * The window itself (live-window.ts) lives where the events are: in the accept stage, fed
 * straight from the events each commit stored. In the embedded server that stage has a thread
 * of its own; a window on the HTTP thread would need a copy of every event sent across, where
 * now a snapshot crosses threads once per second per open stream, and stored events only as
 * a count in each request's answer.
 */
export class LiveView {
  private readonly listeners = new Map<string, Set<() => void>>()
  private readonly closing = new AbortController()

  /** @param read a site's snapshot, from wherever the window is kept. */
  constructor(private readonly read: (siteId: string) => Promise<RealtimeSnapshot>) {}

  snapshot(siteId: string): Promise<RealtimeSnapshot> {
    return this.read(siteId)
  }

  /** Aborted by `close()`: open streams end on it, or the HTTP server could never close. */
  get closed(): AbortSignal {
    return this.closing.signal
  }

  close(): void {
    this.closing.abort()
  }

  /** New events for `siteId` were stored (and are in the window by now). */
  changed(siteId: string): void {
    for (const listener of this.listeners.get(siteId) ?? []) {
      try {
        listener()
      } catch {
        // A broken subscriber must not stop the others nor the accept path that called this.
      }
    }
  }

  /** Called after new events for `siteId` were stored; returns the unsubscribe function. */
  subscribe(siteId: string, listener: () => void): () => void {
    let set = this.listeners.get(siteId)
    if (!set) {
      set = new Set()
      this.listeners.set(siteId, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(siteId) === set) this.listeners.delete(siteId)
    }
  }
}
