import { errorMessage } from '../core/error-message.ts'
import type { BotHit, EnrichedEvent } from '../core/types.ts'
import {
  ACTIVE_SESSION_MS,
  DEFAULT_BUDGET_ENTRIES,
  LiveWindow,
  type RealtimeSnapshot,
} from '../live/live-window.ts'
import type { Logger } from '../log/logger.ts'
import type { Handover, Intake, LiveEvent, RecentEvents } from '../storage/store.ts'
import { GroupCommit } from './group-commit.ts'
import { type AcceptRequest, type Rejection, RequestPreparer } from './prepare-request.ts'
import { SaltCache } from './salt-cache.ts'

/** What a stored request answers: the events acknowledged, and each one rejected. */
export interface AcceptResult {
  /** Events acknowledged: stored now, already stored (repeated event_id), or bot hits. */
  accepted: number
  duplicates: number
  bots: number
  rejected: Rejection[]
}

/**
 * How a request ended: stored (its new events are in the live window by the time this is
 * answered), refused as a whole (a 400 with this message), or not stored (a 503).
 */
export type AcceptOutcome = { result: AcceptResult } | { invalid: string } | { error: string }

/** Events of a result that were new: stored now and fed to the live window. */
export function newEvents(result: AcceptResult): number {
  return result.accepted - result.duplicates - result.bots
}

/** What one request has the store keep. */
interface ToStore {
  events: readonly EnrichedEvent[]
  bots: readonly BotHit[]
}

export interface AcceptStageOptions {
  logger: Logger
  /** Live entries kept one by one (LiveWindow); its default when absent. */
  liveBudgetEntries?: number
  /**
   * Gets each commit's hand-over, when the store makes one (Store.takeHandover), for the
   * roll-up of the same store. Must not throw: the commit is done by then.
   */
  handOver?: (handover: Handover) => void
}

/**
 * The accept stage over any Store: each request's body text is parsed, validated and enriched
 * (prepare-request.ts), its new events committed (group commit: everything that arrived while
 * the last commit ran goes into the next one, and a request is answered after its commit, so
 * an acknowledged event is durable) and fed to the live window, which this stage keeps
 * because it sees every new event first. The embedded server runs it on a thread of its own;
 * the in-process host runs it on the caller's.
 */
export class AcceptStage {
  private readonly preparer: RequestPreparer
  private readonly group: GroupCommit<ToStore, boolean[]>
  /** The clock of the last call: the live window reads time through it. */
  private liveNow = Date.now()
  private readonly live: LiveWindow
  /**
   * Stored events read into a site's window at most (its latest ones): half the budget, so a
   * restart during a flood reads a bounded part of the half hour, marked as an estimate.
   */
  private readonly seedLimit: number
  /**
   * Per site: its stored events of the last half hour, read into the window once (`true` once
   * read, so the accept path does not wait a turn for a settled promise).
   */
  private readonly seeded = new Map<string, Promise<void> | true>()

  constructor(
    private readonly store: Intake & RecentEvents,
    private readonly options: AcceptStageOptions,
  ) {
    this.preparer = new RequestPreparer(new SaltCache(store))
    this.live = new LiveWindow(() => this.liveNow, options.liveBudgetEntries)
    this.seedLimit = Math.max(
      1000,
      Math.floor((options.liveBudgetEntries ?? DEFAULT_BUDGET_ENTRIES) / 2),
    )
    const handOver = options.handOver
    this.group = new GroupCommit<ToStore, boolean[]>(
      async (requests) => {
        const accepted = await store.accept(
          requests.flatMap((r) => r.events),
          requests.flatMap((r) => r.bots),
          requests.map((r) => r.events.length),
        )
        if (handOver && accepted.handover) handOver(accepted.handover)
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
   * One turn's requests, each answered on its own: requests prepared in the same turn share a
   * commit (preparing is synchronous but once a day, when a salt is read), and one that fails
   * fails alone.
   */
  accept(requests: readonly AcceptRequest[]): Promise<AcceptOutcome[]> {
    const last = requests.at(-1)
    if (last) this.liveNow = last.receivedAt
    // A failed request is logged where it is answered (http/routes/events.ts), with its
    // request id: logging it here too wrote every failure twice.
    return Promise.all(requests.map((request) => this.acceptOne(request)))
  }

  /** A site's live snapshot at `now` (on the caller's clock). */
  async snapshot(siteId: string, now: number): Promise<RealtimeSnapshot> {
    this.liveNow = now
    await this.seed(siteId)
    return this.live.snapshot(siteId)
  }

  /** Resolves once every request submitted so far is committed. */
  drain(): Promise<void> {
    return this.group.drain()
  }

  private async acceptOne(request: AcceptRequest): Promise<AcceptOutcome> {
    let prepared: Awaited<ReturnType<RequestPreparer['prepare']>>
    try {
      prepared = await this.preparer.prepare(request)
    } catch (error) {
      return { error: `preparing the events failed: ${errorMessage(error)}` }
    }
    if (!prepared.ok) return { invalid: prepared.message }
    const { events, bots, rejected, valid } = prepared
    const result: AcceptResult = { accepted: valid, duplicates: 0, bots: bots.length, rejected }
    if (events.length === 0 && bots.length === 0) return { result }
    // Read before this commit, or the window would hold its events twice.
    if (this.seeded.get(request.site.id) !== true) await this.seed(request.site.id)
    let fresh: boolean[]
    try {
      fresh = (await this.group.submit([{ events, bots }]))[0] ?? []
    } catch (error) {
      return { error: errorMessage(error) }
    }
    const stored: LiveEvent[] = []
    for (const [i, event] of events.entries()) if (fresh[i]) stored.push(liveEventOf(event))
    result.duplicates = events.length - stored.length
    if (stored.length > 0) {
      try {
        this.live.add(stored)
      } catch {
        // The events are committed: a failure of the live view must not fail the request.
      }
    }
    return { result }
  }

  /**
   * The window is rebuilt from a site's stored events of the last half hour the first time
   * the site is touched, so a restart (of the server or of this stage's thread) keeps the live
   * view; if that read fails the site's window starts empty, as accepts must not fail for the
   * live view's sake.
   */
  private async seed(siteId: string): Promise<void> {
    let seeding = this.seeded.get(siteId)
    if (seeding === true) return
    if (!seeding) {
      seeding = this.store
        .liveEventsSince(siteId, this.liveNow - ACTIVE_SESSION_MS, this.seedLimit)
        .then(
          (events) => this.live.seed(siteId, events, events.length < this.seedLimit),
          (error: unknown) =>
            this.options.logger.error(
              { err: error, site: siteId },
              'live view: reading the last half hour failed; it starts empty',
            ),
        )
        .then(() => {
          this.seeded.set(siteId, true)
        })
      this.seeded.set(siteId, seeding)
    }
    await seeding
  }
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
