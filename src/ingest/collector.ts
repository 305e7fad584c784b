import { randomUUID } from 'node:crypto'
import { localDay } from '../core/calendar.ts'
import { type EventInput, parseEventInput } from '../core/event-schema.ts'
import type { EnrichedEvent, Site } from '../core/types.ts'
import type { Logger } from '../log/logger.ts'
import type { LiveEvent, Store } from '../storage/store.ts'
import type { BotHit } from './commit-events.ts'
import { enrichEvent, type RequestContext } from './enrich-event.ts'
import type { EventWriter } from './event-writer.ts'
import { SaltCache } from './salt-cache.ts'

export interface Rejection {
  index: number
  message: string
}

export interface CollectResult {
  /** Events acknowledged: stored now, already stored (repeated event_id), or bot hits. */
  accepted: number
  duplicates: number
  bots: number
  rejected: Rejection[]
}

export interface CollectorOptions {
  /**
   * Stores what is accepted and rolls it up (the writer threads, writer-thread.ts). Concurrent
   * requests share a commit there (group commit, accept-group.ts).
   */
  writer: EventWriter
  now?: () => number
  logger: Logger
}

/**
 * validate → enrich → group commit of the raw events (stage 1, then the answer) → roll-up
 * into sessions and counters in the background (stage 2).
 */
export class Collector {
  private readonly salts: SaltCache
  /** Requests whose events are handed to the writer and not answered yet. */
  private readonly inFlight = new Set<Promise<unknown>>()
  private readonly now: () => number
  private readonly listeners = new Set<(events: LiveEvent[]) => void>()
  private readonly writer: EventWriter

  /** `store` holds the daily salts; events go through `options.writer`. */
  constructor(store: Store, options: CollectorOptions) {
    this.salts = new SaltCache(store)
    this.now = options.now ?? Date.now
    this.writer = options.writer
  }

  /**
   * Validates each event on its own and resolves once the valid ones are committed.
   *
   * Nothing but the live view's copy of the events waits for the commit: the work is
   * synchronous up to the hand-over, and the await happens in a function that holds only what
   * it needs afterwards. Under load a request waits tens of milliseconds, long enough for what
   * it holds to be promoted to the old generation (see `npm start`'s young-generation size).
   */
  collect(
    site: Site,
    rawEvents: readonly unknown[],
    request: RequestContext,
  ): Promise<CollectResult> {
    const now = this.now()
    const rejected: Rejection[] = []
    const valid: EventInput[] = []
    for (const [index, raw] of rawEvents.entries()) {
      const parsed = parseEventInput(raw, now)
      if (parsed.ok) valid.push(parsed.event)
      else rejected.push({ index, message: parsed.message })
    }
    const dayOf = valid.map((event) => localDay(event.timestamp, site.timezone))
    const salts = new Map<string, string>()
    const unknownDays: string[] = []
    for (const day of new Set(dayOf)) {
      const salt = this.salts.known(day)
      if (salt === undefined) unknownDays.push(day)
      else salts.set(day, salt)
    }
    if (unknownDays.length > 0) {
      // Once a day (per site time zone): read the salts, then go on as usual.
      return Promise.all(unknownDays.map((day) => this.salts.saltFor(day))).then((read) => {
        for (const [i, day] of unknownDays.entries()) salts.set(day, read[i] as string)
        return this.hand(site, valid, dayOf, salts, rejected, request)
      })
    }
    return this.hand(site, valid, dayOf, salts, rejected, request)
  }

  /**
   * Enriches every event without yielding (an await per event let concurrent requests
   * interleave, which also defeated visitorId's once-per-batch hash) and hands them over.
   */
  private hand(
    site: Site,
    valid: readonly EventInput[],
    dayOf: readonly string[],
    salts: ReadonlyMap<string, string>,
    rejected: Rejection[],
    request: RequestContext,
  ): Promise<CollectResult> {
    const result: CollectResult = { accepted: valid.length, duplicates: 0, bots: 0, rejected }
    if (valid.length === 0) return Promise.resolve(result)
    const events: EnrichedEvent[] = []
    const bots: BotHit[] = []
    for (const [i, event] of valid.entries()) {
      const salt = salts.get(dayOf[i] as string) as string
      const enriched = enrichEvent(event, site, request, salt, randomUUID)
      if (enriched.bot) {
        bots.push({ site_id: site.id, timezone: site.timezone, timestamp: event.timestamp })
      } else {
        events.push(enriched.event)
      }
    }
    result.bots = bots.length
    // The writer copies the events out by the end of this turn; only the live view's smaller
    // copy waits for the commit.
    return this.whenCommitted(this.writer.accept(events, bots), events.map(liveEventOf), result)
  }

  private async whenCommitted(
    committed: Promise<boolean[]>,
    live: LiveEvent[],
    result: CollectResult,
  ): Promise<CollectResult> {
    this.inFlight.add(committed)
    let fresh: boolean[]
    try {
      fresh = await committed
    } finally {
      this.inFlight.delete(committed)
    }
    const stored = live.filter((_, i) => fresh[i])
    result.duplicates = live.length - stored.length
    if (stored.length) this.publish(stored)
    return result
  }

  /** Called with every batch of newly committed events (the live view subscribes here). */
  onStored(listener: (events: LiveEvent[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private publish(events: LiveEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events)
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
