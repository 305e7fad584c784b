import { errorMessage } from '../core/error-message.ts'
import type { BotHit, EnrichedEvent } from '../core/types.ts'
import type { Accepted, LiveEvent, Store } from '../storage/store.ts'
import { GroupCommit } from './group-commit.ts'
import type {
  IngestRequest,
  PreparedRequest,
  Rejection,
  RequestPreparer,
} from './prepare-request.ts'

/** What one request has the accept thread store. */
export interface StoreRequest {
  events: readonly EnrichedEvent[]
  bots: readonly BotHit[]
}

export interface CollectResult {
  /** Events acknowledged: stored now, already stored (repeated event_id), or bot hits. */
  accepted: number
  duplicates: number
  bots: number
  rejected: Rejection[]
}

/**
 * How a request ended on the accept thread: stored (its new events are in the live window by
 * the time this is answered), refused as a whole (a 400 with this message), or not stored (a
 * 503).
 */
export type AcceptOutcome = { result: CollectResult } | { invalid: string } | { error: string }

/** Events of a result that were new: stored now and fed to the live window. */
export function newEvents(result: CollectResult): number {
  return result.accepted - result.duplicates - result.bots
}

/** Where the events a commit newly stored go at once (the live window). */
export interface LiveFeed {
  add(events: readonly LiveEvent[]): void
}

/**
 * The accept thread's group commit. The HTTP thread posts each turn's requests at once and
 * goes on reading; everything that arrived while the last transaction ran is committed in
 * the next one. So reading and committing overlap, and a request waits in the HTTP thread's
 * memory as its body text only.
 *
 * Each request resolves with, per event, whether it was new. `handOver` gets what each commit
 * queued (packed as written, when the store packs it) for the roll-up thread, and must not
 * throw: the commit is done by then. A request whose events fail the commit is retried alone,
 * so it fails without failing the requests it was grouped with.
 */
export function acceptGroup(
  store: Store,
  handOver: (accepted: Accepted) => void,
): GroupCommit<StoreRequest, boolean[]> {
  return new GroupCommit<StoreRequest, boolean[]>(
    async (requests) => {
      const accepted = await store.accept(
        requests.flatMap((r) => r.events),
        requests.flatMap((r) => r.bots),
      )
      handOver(accepted)
      const { fresh } = accepted
      let offset = 0
      return requests.map((request) => {
        const own = fresh.slice(offset, offset + request.events.length)
        offset += request.events.length
        return own
      })
    },
    // About a second of events at most, so one commit never holds the write lock for long.
    {
      maxItems: 5000,
      maxWaitMs: 0,
      sizeOf: (request) => request.events.length + request.bots.length,
    },
  )
}

/**
 * One request from body text to outcome: prepared, then stored in the group's next commit,
 * and its new events fed to the live window. Requests prepared in the same turn share that
 * commit (preparing is synchronous but once a day, when a salt is read).
 */
export async function acceptRequest(
  ingest: IngestRequest,
  preparer: RequestPreparer,
  group: GroupCommit<StoreRequest, boolean[]>,
  live: LiveFeed,
): Promise<AcceptOutcome> {
  let prepared: PreparedRequest
  try {
    prepared = await preparer.prepare(ingest)
  } catch (error) {
    return { error: `preparing the events failed: ${errorMessage(error)}` }
  }
  if (!prepared.ok) return { invalid: prepared.message }
  const { events, bots, rejected, valid } = prepared
  const result: CollectResult = { accepted: valid, duplicates: 0, bots: bots.length, rejected }
  if (events.length === 0 && bots.length === 0) return { result }
  let fresh: boolean[]
  try {
    fresh = (await group.submit([{ events, bots }]))[0] ?? []
  } catch (error) {
    return { error: errorMessage(error) }
  }
  const stored: LiveEvent[] = []
  for (const [i, event] of events.entries()) if (fresh[i]) stored.push(liveEventOf(event))
  result.duplicates = events.length - stored.length
  if (stored.length > 0) {
    try {
      live.add(stored)
    } catch {
      // The events are committed: a failure of the live view must not fail the request.
    }
  }
  return { result }
}

function liveEventOf(e: EnrichedEvent): LiveEvent {
  return {
    site_id: e.site_id,
    session_id: e.client_session_id,
    visitor_id: e.visitor_id,
    timestamp: e.timestamp,
    event_type: e.event_type,
    path: e.path,
    title: e.title,
    source: e.source,
    country: e.country,
    device: e.device,
    browser: e.browser,
  }
}
