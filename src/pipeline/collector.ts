import { type AcceptOutcome, newEvents } from '../accept/accept-stage.ts'
import type { RequestContext } from '../accept/enrich-event.ts'
import type { Site } from '../core/types.ts'
import { addressKey, type RateDecision, type RateLimiter } from '../limits/rate-limiter.ts'
import type { Pipeline } from './pipeline.ts'

export interface CollectorOptions {
  /**
   * Prepares, stores and rolls up what is accepted. Concurrent requests share a commit there
   * (group commit, accept/accept-stage.ts).
   */
  pipeline: Pipeline
  now?: () => number
  /**
   * Requests per client address (RATE_LIMIT_PER_MINUTE); none when absent, as when limits are
   * off or kept by an edge in front.
   */
  rateLimiter?: RateLimiter
  /**
   * How much work may wait for its commit (handed to the pipeline, not answered yet); past
   * either bound a request is shed at once instead of queued (MAX_PENDING_REQUESTS,
   * MAX_PENDING_MB). No bound when absent.
   */
  maxPending?: PendingBounds
}

export interface PendingBounds {
  requests: number
  /** Body text, in characters: a body's bytes, for the ASCII JSON a tracker sends. */
  bytes: number
}

/** What the collector counts, for monitoring: totals since start, and what waits now. */
export interface CollectorStats {
  /** Requests refused with 429 by the rate limit (their bodies are not read). */
  rateLimitedRequests: number
  /** Requests refused with 503 because too much work waited, and their body bytes. */
  shedRequests: number
  shedBytes: number
  /** Requests handed to the pipeline and not answered yet, and their body bytes. */
  pendingRequests: number
  pendingBytes: number
}

/** The request was not handed over: too much work waits (answer 503, retry in a second). */
export interface Shed {
  shed: { retryAfterS: number }
}

export type CollectOutcome = AcceptOutcome | Shed

const UNLIMITED: RateDecision = { ok: true }
const SHED: Shed = { shed: { retryAfterS: 1 } }
const NO_BOUND: PendingBounds = {
  requests: Number.POSITIVE_INFINITY,
  bytes: Number.POSITIVE_INFINITY,
}

/**
 * The HTTP side of the accept stage: hands each request's body text to the pipeline and tells
 * the live view which sites got new events. Parsing, validation, enrichment and the live
 * window itself are in the accept stage, so a request waits here as its text only.
 */
export class Collector {
  /** Requests handed to the pipeline and not answered yet. */
  private readonly inFlight = new Set<Promise<unknown>>()
  /** The length of their bodies, together. */
  private pendingBytes = 0
  private readonly now: () => number
  private readonly listeners = new Set<(siteId: string) => void>()
  private readonly pipeline: Pipeline
  private readonly rateLimiter: RateLimiter | undefined
  private readonly maxPending: PendingBounds
  private readonly counts = { rateLimitedRequests: 0, shedRequests: 0, shedBytes: 0 }

  constructor(options: CollectorOptions) {
    this.now = options.now ?? Date.now
    this.pipeline = options.pipeline
    this.rateLimiter = options.rateLimiter
    this.maxPending = options.maxPending ?? NO_BOUND
  }

  /**
   * Counts a request from `clientIp` against its address's rate limit, before its body is
   * read, or says how long it must wait. IPv6 addresses count by their /64 (addressKey).
   */
  limitRate(clientIp: string): RateDecision {
    if (!this.rateLimiter) return UNLIMITED
    const decision = this.rateLimiter.take(addressKey(clientIp), this.now())
    if (!decision.ok) this.counts.rateLimitedRequests++
    return decision
  }

  stats(): CollectorStats {
    return { ...this.counts, pendingRequests: this.inFlight.size, pendingBytes: this.pendingBytes }
  }

  /**
   * Resolves once the request's valid events are committed (each event is validated on its
   * own), with why they were not when they could not be. The body is handed over by the end
   * of this turn, and the wait for the commit holds nothing of it (see eventRoutes).
   *
   * When the work already waiting is at its bound, the request is shed instead (`Shed`, at
   * once, nothing of it stored): the pipeline commits as fast as it can, so more waiting only
   * grows memory and every client's wait, while a client told to retry in a second comes back
   * when there is room.
   */
  collect(site: Site, body: string, request: RequestContext): Promise<CollectOutcome> {
    const bytes = body.length
    if (!this.hasRoomFor(bytes)) {
      this.counts.shedRequests++
      this.counts.shedBytes += bytes
      return Promise.resolve(SHED)
    }
    return this.whenAccepted(
      site.id,
      this.pipeline.accept({ site, body, request, receivedAt: this.now() }),
      bytes,
    )
  }

  /** One request always fits, however large, or a bound below a body could refuse it forever. */
  private hasRoomFor(bytes: number): boolean {
    if (this.inFlight.size === 0) return true
    return (
      this.inFlight.size < this.maxPending.requests &&
      this.pendingBytes + bytes <= this.maxPending.bytes
    )
  }

  private async whenAccepted(
    siteId: string,
    accepting: Promise<AcceptOutcome>,
    bytes: number,
  ): Promise<AcceptOutcome> {
    this.inFlight.add(accepting)
    this.pendingBytes += bytes
    try {
      const outcome = await accepting
      if ('result' in outcome && newEvents(outcome.result) > 0) this.publish(siteId)
      return outcome
    } finally {
      this.inFlight.delete(accepting)
      this.pendingBytes -= bytes
    }
  }

  /** Called with the site of every request that stored new events (the live view's signal). */
  onStored(listener: (siteId: string) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private publish(siteId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(siteId)
      } catch {
        // A failing subscriber must never fail the accept: the events are already committed.
      }
    }
  }

  /** Resolves once everything accepted so far is rolled up into sessions and counters. */
  async settle(): Promise<void> {
    await this.answered()
    await this.pipeline.settle()
  }

  /** Commits every submitted event and rolls it up, then stops the pipeline (shutdown). */
  async drain(): Promise<void> {
    await this.answered()
    await this.pipeline.close()
  }

  private async answered(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }
}
