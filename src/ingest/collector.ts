import type { Site } from '../core/types.ts'
import { type AcceptOutcome, type CollectResult, newEvents } from './accept-group.ts'
import type { RequestContext } from './enrich-event.ts'
import type { EventWriter } from './event-writer.ts'

export type { CollectResult } from './accept-group.ts'
export type { Rejection } from './prepare-request.ts'

export interface CollectorOptions {
  /**
   * Prepares, stores and rolls up what is accepted (the writer threads, writer-thread.ts).
   * Concurrent requests share a commit there (group commit, accept-group.ts).
   */
  writer: EventWriter
  now?: () => number
}

/** A request's events stored, or its body refused as a whole (a 400 with this message). */
export type Collected = { ok: true; result: CollectResult } | { ok: false; message: string }

/**
 * The HTTP thread's side of ingestion: hands each request's body text to the writer and tells
 * the live view which sites got new events. Parsing, validation, enrichment and the live
 * window itself are on the accept thread (prepare-request.ts, live-view.ts), so a request
 * waits here as its text only.
 */
export class Collector {
  /** Requests handed to the writer and not answered yet. */
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly now: () => number
  private readonly listeners = new Set<(siteId: string) => void>()
  private readonly writer: EventWriter

  constructor(options: CollectorOptions) {
    this.now = options.now ?? Date.now
    this.writer = options.writer
  }

  /**
   * Resolves once the request's valid events are committed (each event is validated on its
   * own); rejects when they could not be stored. The body is handed over by the end of this
   * turn, and the wait for the commit holds nothing of it (see eventRoutes).
   */
  collect(site: Site, body: string, request: RequestContext): Promise<Collected> {
    return this.whenAccepted(
      site.id,
      this.writer.accept({ site, body, request, receivedAt: this.now() }),
    )
  }

  private async whenAccepted(
    siteId: string,
    accepting: Promise<AcceptOutcome>,
  ): Promise<Collected> {
    this.inFlight.add(accepting)
    try {
      const outcome = await accepting
      if ('error' in outcome) throw new Error(`accept thread: ${outcome.error}`)
      if ('invalid' in outcome) return { ok: false, message: outcome.invalid }
      if (newEvents(outcome.result) > 0) this.publish(siteId)
      return { ok: true, result: outcome.result }
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
        // A failing subscriber must never fail ingestion: the events are already committed.
      }
    }
  }

  /** Resolves once everything accepted so far is rolled up into sessions and counters. */
  async settle(): Promise<void> {
    await this.answered()
    await this.writer.settle()
  }

  /** Commits every submitted event and rolls it up, then stops the writer (shutdown). */
  async drain(): Promise<void> {
    await this.answered()
    await this.writer.close()
  }

  private async answered(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }
}
