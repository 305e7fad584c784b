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
}

/** Counts since start, for monitoring (`stats()`). */
export interface CollectorStats {
  /** Requests refused with 429 by the rate limit. */
  rateLimitedRequests: number
}

const UNLIMITED: RateDecision = { ok: true }

/**
 * The HTTP side of the accept stage: hands each request's body text to the pipeline and tells
 * the live view which sites got new events. Parsing, validation, enrichment and the live
 * window itself are in the accept stage, so a request waits here as its text only.
 */
export class Collector {
  /** Requests handed to the pipeline and not answered yet. */
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly now: () => number
  private readonly listeners = new Set<(siteId: string) => void>()
  private readonly pipeline: Pipeline
  private readonly rateLimiter: RateLimiter | undefined
  private readonly counts: CollectorStats = { rateLimitedRequests: 0 }

  constructor(options: CollectorOptions) {
    this.now = options.now ?? Date.now
    this.pipeline = options.pipeline
    this.rateLimiter = options.rateLimiter
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
    return { ...this.counts }
  }

  /**
   * Resolves once the request's valid events are committed (each event is validated on its
   * own), with why they were not when they could not be. The body is handed over by the end
   * of this turn, and the wait for the commit holds nothing of it (see eventRoutes).
   */
  collect(site: Site, body: string, request: RequestContext): Promise<AcceptOutcome> {
    return this.whenAccepted(
      site.id,
      this.pipeline.accept({ site, body, request, receivedAt: this.now() }),
    )
  }

  private async whenAccepted(
    siteId: string,
    accepting: Promise<AcceptOutcome>,
  ): Promise<AcceptOutcome> {
    this.inFlight.add(accepting)
    try {
      const outcome = await accepting
      if ('result' in outcome && newEvents(outcome.result) > 0) this.publish(siteId)
      return outcome
    } finally {
      this.inFlight.delete(accepting)
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
