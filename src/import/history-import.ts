import { hourBucket } from '../core/calendar.ts'
import { extendSession, startSession } from '../core/session-rules.ts'
import type { BotHit, EnrichedEvent, SessionState } from '../core/types.ts'
import type { RollupOptions } from '../rollup/rollup-options.ts'
import { type CountedEvent, unitDeltas } from '../rollup/unit-deltas.ts'
import type { BulkLoad, CounterReads, RollupProgress, RollupQueue } from '../storage/store.ts'

/** What an import writes through and reads back: the roll-up, its progress, counters, bulk loads. */
export type ImportTarget = Pick<RollupQueue, 'rollup'> &
  RollupProgress &
  Pick<CounterReads, 'readRollups'> &
  BulkLoad

export interface HistoryImportOptions extends RollupOptions {
  /** Events at or after `now - eventTtlMs` also keep their raw record (timelines, live view). */
  eventTtlMs: number
  now: number
  /**
   * Events rolled up per write (default 10,000); writes happen only where an hour ends (see
   * `add`), so a write holds at least one hour whatever this says.
   */
  flushEvents?: number
}

export interface HistoryImportResult {
  imported: number
  /** Events whose (site, timestamp, event_id) repeated one already imported. */
  duplicates: number
  sessions: number
}

/**
 * Why an import was refused or stopped: `at` is the offending event's place in the input, and
 * `countedThrough` the start (epoch ms) of the last hour written, if any: a rerun resumes after it.
 */
export class HistoryImportError extends Error {
  constructor(
    message: string,
    readonly at?: number,
    readonly countedThrough?: number,
  ) {
    super(message)
    this.name = 'HistoryImportError'
  }
}

interface ImportedSite {
  /** The first imported time. */
  from: number
  /** Whether stored sessions may reach into the import (the site has counters before it). */
  continues: boolean
  timezone: string
  /** Client session id → that client's latest session, while it can still grow. */
  open: Map<string, SessionState>
  /** Client session ids already looked up in storage (only near a continuing site's start). */
  lookedUp: Set<string>
}

/**
 * Loads history: events older than the collector accepts (it refuses anything over 24 hours
 * old), such as an export from another analytics tool, and the query benchmark's month of
 * traffic. Counts come out exactly as if the same events had gone through the collector in
 * time order, but at a fraction of the cost, because the input is known to be in time order:
 *
 * - a client's latest session is kept in memory, so no session is looked up in storage, and
 *   each session is written once when it can no longer grow (a timeout after its last event)
 *   instead of once per batch it appears in;
 * - there is no queue: the import rolls up straight from its input, and only events still
 *   within the raw-event TTL are stored as raw records (older ones would be swept at once);
 * - duplicates share their timestamp, so in time order they are adjacent and are found with
 *   no index: a repeated (site, timestamp, event_id) is skipped;
 * - a write is not waited for before the next hours are counted: a store that writes on a
 *   thread of its own (SqliteStore's commitThread) does both at once. At most one earlier write
 *   is in flight; one that failed stops the import at the next call, and `countedThrough`
 *   names committed hours only;
 * - from its first write the store is told a bulk load is under way (Store.beginBulkLoad), so
 *   it may build its session lookup indexes once at the end instead of row by row.
 *
 * An import appends to what a site has counted. It refuses events in or before an hour that
 * already has counters, and a queue not yet rolled up. It writes only whole hours, so an import
 * that stopped can be resumed from the first hour it did not count. Run it with the server
 * stopped: the server's roll-up keeps the day's visitor marks in its own memory.
 */
export class HistoryImport {
  /** Session id → the session as last written, for sessions written while still open. */
  private readonly written = new Map<string, SessionState>()
  private closed: SessionState[] = []
  private pending: Array<CountedEvent & { event: EnrichedEvent }> = []
  private raw: EnrichedEvent[] = []
  /** Bot hits since the last write: counted per hour, as the collector does. */
  private bots: BotHit[] = []
  /** Per site: what the import tracks of it (ImportedSite). */
  private readonly sites = new Map<string, ImportedSite>()
  private latest = Number.NEGATIVE_INFINITY
  /** The events at `latest`: the only ones a duplicate can still repeat (usually one). */
  private readonly atLatest: EnrichedEvent[] = []
  private position = 0
  /** The start of the last hour written, once a write happened. */
  private countedThrough: number | undefined = undefined
  private checkedQueue = false
  /** The last write handed to the store, settled once it is committed (or failed). */
  private committing: Promise<void> = Promise.resolve()
  /** Whether the store was told a bulk load is under way (Store.beginBulkLoad). */
  private bulkLoading = false
  /** The error that ended the import, if one did. */
  private stopped: Error | undefined
  private readonly result: HistoryImportResult = { imported: 0, duplicates: 0, sessions: 0 }
  private readonly flushEvents: number
  private readonly rawFrom: number

  constructor(
    private readonly store: ImportTarget,
    private readonly options: HistoryImportOptions,
  ) {
    // The import's memory grows with the unit: the events waiting for the next write, the
    // write in flight and its copy on the commit thread, and the garbage V8 lets grow over
    // them. Smaller units cost CPU instead (each write also rewrites the sessions still open);
    // the figures of both are in bench/NOTES.md.
    this.flushEvents = options.flushEvents ?? 10_000
    this.rawFrom = options.now - options.eventTtlMs
  }

  /** Items handed to `add` so far (an error's `at` counts from 0 in this sequence). */
  get added(): number {
    return this.position
  }

  /**
   * Adds the next events and bot hits of the input; they must continue it in time order (bot
   * hits only count, in the `bots` counter of their hour). After an error the
   * import is over: memory no longer matches what was written, so every later call refuses
   * (what was written stays, in whole hours).
   */
  async add(items: readonly (EnrichedEvent | BotHit)[]): Promise<void> {
    await this.unlessStopped(() => this.addInOrder(items))
  }

  /** Writes what is left, every open session included. */
  async finish(): Promise<HistoryImportResult> {
    await this.unlessStopped(async () => {
      await this.flush(true)
      await this.committing
      await this.endBulkLoad()
    })
    return { ...this.result }
  }

  private async unlessStopped(work: () => Promise<void>): Promise<void> {
    if (this.stopped) {
      throw new HistoryImportError(
        `the import stopped (${this.stopped.message}); nothing more is written`,
        undefined,
        this.countedThrough,
      )
    }
    try {
      await work()
    } catch (error) {
      this.stopped = error instanceof Error ? error : new Error(String(error))
      // The error is what the caller needs to hear; closing the store builds the indexes too.
      await this.endBulkLoad().catch(() => undefined)
      throw error
    }
  }

  private async endBulkLoad(): Promise<void> {
    if (!this.bulkLoading) return
    this.bulkLoading = false
    await this.store.endBulkLoad()
  }

  private async addInOrder(items: readonly (EnrichedEvent | BotHit)[]): Promise<void> {
    if (!this.checkedQueue) {
      const waiting = await this.store.backlog()
      if (waiting > 0) {
        throw new HistoryImportError(
          `${waiting} accepted events still wait for the roll-up: start the server once to settle them first`,
        )
      }
      this.checkedQueue = true
    }
    for (const event of items) {
      const at = this.position++
      if (event.timestamp < this.latest) {
        throw new HistoryImportError(
          `event ${at} (${new Date(event.timestamp).toISOString()}) is older than the one before it: history must be imported in time order`,
          at,
          this.countedThrough,
        )
      }
      if (event.timestamp > this.latest) {
        // Written only where an hour ends, so every hour is counted whole or not at all.
        if (
          this.pending.length >= this.flushEvents &&
          hourBucket(event.timestamp) !== hourBucket(this.latest)
        ) {
          await this.flush(false)
        }
        this.latest = event.timestamp
        this.atLatest.length = 0
      }
      if (!('event_id' in event)) {
        this.bots.push(event)
        continue
      }
      if (this.atLatest.some((e) => e.event_id === event.event_id && e.site_id === event.site_id)) {
        this.result.duplicates++
        continue
      }
      this.atLatest.push(event)
      const site = this.sites.get(event.site_id) ?? (await this.checkSite(event, at))
      const client = event.client_session_id
      if (
        site.continues &&
        event.timestamp <= site.from + this.options.sessionTimeoutMs &&
        !site.open.has(client) &&
        !site.lookedUp.has(client)
      ) {
        await this.adoptStoredSession(event, site)
      }
      const session = this.sessionFor(event, site.open)
      this.pending.push({ event, session })
      if (event.timestamp >= this.rawFrom) this.raw.push(event)
      this.result.imported++
    }
  }

  /** The event's session: its client's latest one when within the timeout, else a new one. */
  private sessionFor(event: EnrichedEvent, open: Map<string, SessionState>): SessionState {
    const session = open.get(event.client_session_id)
    if (session && event.timestamp <= session.end_time + this.options.sessionTimeoutMs) {
      extendSession(session, event)
      return session
    }
    if (session) this.closed.push(session)
    const created = startSession(
      event,
      this.options.newSessionId(event.site_id, event.client_session_id),
    )
    open.set(event.client_session_id, created)
    this.result.sessions++
    return created
  }

  /**
   * A stored session this client's event may continue: only possible within a timeout of the
   * site's first imported event, when the site has counters just before it (an earlier
   * import that stopped, or live traffic).
   */
  private async adoptStoredSession(event: EnrichedEvent, site: ImportedSite): Promise<void> {
    site.lookedUp.add(event.client_session_id)
    const stored = await this.store.rollup((unit) =>
      unit.sessionsFor([
        {
          site_id: event.site_id,
          client_session_id: event.client_session_id,
          from: event.timestamp - this.options.sessionTimeoutMs,
          to: event.timestamp,
        },
      ]),
    )
    const latest = stored.at(-1)
    if (!latest) return
    this.written.set(latest.id, { ...latest })
    site.open.set(event.client_session_id, latest)
  }

  /** Refuses an import into hours already counted; notes whether stored sessions reach in. */
  private async checkSite(event: EnrichedEvent, at: number) {
    const firstHour = hourBucket(event.timestamp)
    const counted = await this.store.readRollups({
      grain: 'hour',
      site_id: event.site_id,
      dim: '',
      from: hourBucket(event.timestamp - this.options.sessionTimeoutMs),
      to: Number.MAX_SAFE_INTEGER,
    })
    const overlap = counted.find((row) => (row.bucket as number) >= firstHour)
    if (overlap) {
      throw new HistoryImportError(
        `site ${event.site_id} already has counters from ${new Date((overlap.bucket as number) * 3_600_000).toISOString()}: history can only be added after the last counted hour`,
        at,
        this.countedThrough,
      )
    }
    const site: ImportedSite = {
      from: event.timestamp,
      continues: counted.length > 0,
      timezone: event.timezone,
      open: new Map(),
      lookedUp: new Set(),
    }
    this.sites.set(event.site_id, site)
    return site
  }

  /**
   * One unit of work: the pending events' counters and visitor marks, the sessions that can no
   * longer grow (written for the last time), and the open ones as they are now (their later
   * growth is written as a difference, as the collector's roll-up does).
   */
  private async flush(final: boolean): Promise<void> {
    const timeoutMs = this.options.sessionTimeoutMs
    const open: SessionState[] = []
    for (const site of this.sites.values()) {
      for (const [client, session] of site.open) {
        if (final || session.end_time + timeoutMs < this.latest) {
          this.closed.push(session)
          site.open.delete(client)
        } else {
          open.push(session)
        }
      }
    }
    const sessions = [...this.closed, ...open]
    if (this.pending.length === 0 && sessions.length === 0 && this.bots.length === 0) return
    if (!this.bulkLoading) {
      // From the first write on: a continuing site's stored sessions were looked up before.
      await this.store.beginBulkLoad()
      this.bulkLoading = true
    }
    const previous = this.committing
    const { committed } = await this.store.rollup(async (unit) => {
      const deltas = await unitDeltas(unit, {
        changes: sessions.map((session) => ({
          before: this.written.get(session.id) ?? null,
          after: session,
          timezone: this.timezoneOf(session.site_id),
        })),
        events: this.pending,
        bots: this.bots,
      })
      // Not awaited inside the unit: a store that writes on a thread of its own (SqliteStore's
      // commitThread) lets the next unit be computed while this one is written.
      return {
        committed: unit.write({
          sessions,
          deltas,
          events: this.raw,
          // The record keeps imported history as it keeps live traffic.
          record: this.pending.map(({ event }) => event),
        }),
      }
    })
    // Everything up to `latest` went into this write (a write comes before the next hour).
    const through = hourBucket(this.latest) * 3_600_000
    this.committing = committed.then(() => {
      this.countedThrough = through
    })
    // Awaited by the next write or by `finish`; until then a failure is not unhandled.
    this.committing.catch(() => undefined)
    for (const session of this.closed) this.written.delete(session.id)
    for (const session of open) this.written.set(session.id, { ...session })
    this.closed = []
    this.pending = []
    this.raw = []
    this.bots = []
    // At most one write in flight besides this one; a failed one stops the import here.
    await previous
  }

  private timezoneOf(siteId: string): string {
    return this.sites.get(siteId)?.timezone ?? 'UTC'
  }
}
