import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { DAY_MS, HOUR_MS } from '../core/calendar.ts'
import { MAX_AGE_MS } from '../core/parse-event.ts'
import type { StatsQuery } from '../core/stats-query.ts'
import { candidateIndexBytes, candidatesOf } from './candidate-index.ts'
import {
  type ColumnarPart,
  columnarPart,
  Dictionaries,
  endedFrom,
  mergeParts,
  PartBuilder,
  partBytes,
} from './columnar-record.ts'
import { ALL_VISITORS, scanTallies } from './columnar-report.ts'
import type { ColumnsSnapshots, SnapshotIdentity } from './columns-snapshot.ts'
import { DayProps } from './day-props.ts'
import { DayTallies, midnightBefore, type ScanTallies } from './day-tallies.ts'
import {
  type FilteredStatsReport,
  propertiesPart,
  type RecordProperties,
  recordPropertiesOf,
} from './filtered-report.ts'
import { readWindow } from './period-window.ts'
import { recordReport } from './record-report.ts'
import type { ScanPool } from './scan-pool.ts'
import type { RecordReads } from './session-record.ts'

/**
 * The record's report from memory (issue 26, item 5): each site's closed sessions held as
 * columns (columnar-record.ts), the open tail read from the store per query.
 *
 * Closed: a session that ended before `upper` can no longer change. The collector refuses
 * events over MAX_AGE_MS old, a late event can only join or bridge sessions that ended within
 * a session timeout of it, and events waiting for the roll-up were accepted at or after the
 * oldest pending accept; so no write to come touches a session that ended before
 * `min(now, oldest pending accept) - MAX_AGE_MS - timeout`. `upper` stays below that, and when
 * it no longer is (a roll-up that fell far behind) the columns are dropped and rebuilt.
 *
 * What rewrites the past otherwise (a user's deletion, a bulk load) changes the store's
 * record generation, which drops the site's columns too. An import from the command line runs
 * with the server stopped, so it meets empty memory.
 *
 * A site's columns hold exactly the sessions that ended in [lower, upper): queries reaching
 * earlier extend them down, time passing extends them up, each extension read once in short
 * stretches (yielding between them so the collector is served) and merged in.
 *
 * Memory is bounded by `maxBytes` over all sites: a site that does not fit is answered by
 * the direct read (recordReport: correct, slower), logged once.
 */
export interface ColumnsStore extends RecordReads {
  oldestPendingAcceptedAt(): Promise<number | null>
  /**
   * Grows with every roll-up write to the site, which writes the record in the same
   * transaction: an open tail read at one version is the tail until it changes.
   */
  countersVersion(siteId: string): Promise<number>
  /** Changes whenever the site's past record was rewritten in this process. */
  recordGeneration(siteId: string): string
  /**
   * What a saved copy of the columns is checked against in any process (columns-snapshot.ts);
   * null while the site has recorded nothing. Without it no copy is saved or read.
   */
  recordIdentity?(siteId: string): SnapshotIdentity | null
}

export interface RecordColumnsOptions {
  /** All sites' columns together; 0 turns the columns off (every query reads directly). */
  maxBytes: number
  sessionTimeoutMs: number
  now: () => number
  logger: {
    info(fields: object, message: string): void
    warn(fields: object, message: string): void
  }
  /** How much time one read of the store covers while building (default 2 hours). */
  stretchMs?: number
  /**
   * Days before the closed bound kept whatever queries ask (default 62 days: the dashboard's
   * 30-day view compared with the 30 days before), so a quiet spell of short views does not
   * make the next long one read them again.
   */
  keepMs?: number
  /** Where the columns are saved for the next start (columns-snapshot.ts); none: not saved. */
  snapshots?: Pick<ColumnsSnapshots, 'save' | 'load'>
  /** Scans on worker threads (scan-pool.ts); without it, on the calling thread. */
  scanPool?: ScanPool
  /**
   * What the closed days' tallies of filtered reports may hold, all sites (day-tallies.ts;
   * default 64 MB, at most an eighth of `maxBytes`); 0 scans every day at every query.
   */
  dayTalliesBytes?: number
}

interface SiteColumns {
  timeZone: string
  generation: string
  dicts: Dictionaries
  part: ColumnarPart
  lower: number
  upper: number
  bytes: number
}

/**
 * How far the closed bound moves before the columns are saved again: a restart then reads at
 * most this much (and what closed while it was down) from the store.
 */
const SAVE_EVERY_MS = 6 * HOUR_MS

/** How far behind the closed bound the columns may fall before being extended up. */
const EXTEND_AFTER_MS = 2 * HOUR_MS
/** Open tails kept per site, for the few distinct windows the dashboard asks. */
const TAILS_PER_SITE = 4
const DAY_TALLIES_BYTES = 64 * 1024 * 1024

export class RecordColumns {
  private readonly sites = new Map<string, SiteColumns>()
  private readonly updating = new Map<string, Promise<void>>()
  /**
   * Per site that did not fit: queries reaching back to this moment or earlier are answered
   * directly from then on (Infinity: all of them). Logged once per site.
   */
  private readonly tooBig = new Map<string, number>()
  private readonly logged = new Set<string>()
  /** Per site: the earliest moment queries asked since the columns were last extended. */
  private readonly reached = new Map<string, number>()
  /** Per site: open tails as columns, by what they were read at (`tailKey`), latest last. */
  private readonly tails = new Map<string, Map<string, ColumnarPart>>()
  /** Per site: the span of the columns last saved, or being saved (`snapshots`). */
  private readonly saved = new Map<string, { lower: number; upper: number }>()
  private saving: Promise<void> = Promise.resolve()
  private readonly dayTallies: DayTallies
  private readonly dayProps: DayProps

  constructor(
    private readonly store: ColumnsStore,
    private readonly options: RecordColumnsOptions,
  ) {
    const cap = options.dayTalliesBytes ?? Math.min(DAY_TALLIES_BYTES, options.maxBytes / 8)
    // Within the columns' bound too: what the columns and lists leave, up to the cap.
    const room = () => Math.min(cap, options.maxBytes - this.columnBytes())
    this.dayTallies = new DayTallies(() => room() - this.dayProps.bytes())
    this.dayProps = new DayProps(() => room() - this.dayTallies.bytes())
  }

  /**
   * The bytes held, all sites together: columns, dictionaries, candidate lists and the
   * closed days' tallies.
   */
  /** The kept day tallies' background builds have ended (day-tallies.ts): tests, bench. */
  settled(): Promise<void> {
    return this.dayTallies.settled()
  }

  bytes(): number {
    return this.columnBytes() + this.dayTallies.bytes() + this.dayProps.bytes()
  }

  /** The columns, dictionaries and candidate lists, all sites. */
  private columnBytes(): number {
    let total = 0
    for (const site of this.sites.values()) total += site.bytes + candidateIndexBytes(site.part)
    return total
  }

  /**
   * Per site held: sessions, events and bytes (for /metrics and the benchmark); of the bytes,
   * `index_bytes` are the candidate lists built for the filters asked so far, and
   * `day_tally_bytes` the closed days' tallies and property counts kept for them.
   */
  held(): Array<{
    site: string
    sessions: number
    events: number
    bytes: number
    index_bytes: number
    day_tally_bytes: number
  }> {
    return [...this.sites].map(([site, c]) => {
      const index = candidateIndexBytes(c.part)
      const days = this.dayTallies.bytesOf(site) + this.dayProps.bytesOf(site)
      return {
        site,
        sessions: c.part.sessions,
        events: c.part.at.length,
        bytes: c.bytes + index + days,
        index_bytes: index,
        day_tally_bytes: days,
      }
    })
  }

  /** Loads the site's columns from `from` on ahead of any query (warm-columns.ts). */
  async warm(siteId: string, timeZone: string, from: number): Promise<void> {
    await this.columnsFor(siteId, timeZone, from)
  }

  /**
   * The property part of an unfiltered `props=KEY` query (columnar-props.ts): one pass over
   * the events' properties instead of the whole report, whose tables the counters give.
   */
  async properties(query: StatsQuery): Promise<RecordProperties> {
    const siteId = query.site_id
    const window = readWindow(query.current, query.timezone)
    const columns = await this.columnsFor(siteId, query.timezone, window.from)
    const [recordSince, found] = await Promise.all([
      this.store.recordSince(siteId),
      columns
        ? this.tail(siteId, columns, Math.max(window.from, columns.upper), window.to).then((tail) =>
            this.dayProps.properties(siteId, columns.dicts, columns.part, tail, query),
          )
        : null,
    ])
    if (!found)
      return recordPropertiesOf(await recordReport(this.store, { ...query, previous: null }))
    return {
      ...propertiesPart(query, { propKeys: found.keys, propRows: found.rows }),
      record_since: recordSince,
      record_partial: found.partial,
    }
  }

  async report(query: StatsQuery): Promise<FilteredStatsReport> {
    const siteId = query.site_id
    const windows = [query.current, ...(query.previous ? [query.previous] : [])].map((p) =>
      readWindow(p, query.timezone),
    )
    const from = Math.min(...windows.map((w) => w.from))
    const to = Math.max(...windows.map((w) => w.to))
    const columns = await this.columnsFor(siteId, query.timezone, from)
    if (!columns) return recordReport(this.store, query)
    const [tail, recordSince] = await Promise.all([
      this.tail(siteId, columns, Math.max(from, columns.upper), to),
      this.store.recordSince(siteId),
    ])
    const input = {
      dicts: columns.dicts,
      parts: [columns.part, tail] as const,
      query,
      recordSince,
      // Within the memory bound: an index that would pass it is not built (a full scan).
      candidates: candidatesOf(
        columns.dicts,
        columns.part,
        query.filters,
        this.options.maxBytes - this.bytes(),
      ),
    }
    const pool = this.options.scanPool
    const scan: ScanTallies = pool
      ? (parts, specs, candidates, byDay) => pool.tallies(siteId, parts, specs, candidates, byDay)
      : async (parts, specs, candidates, byDay) =>
          scanTallies(specs, parts, ALL_VISITORS, candidates, byDay)
    return this.dayTallies.report(siteId, input, scan)
  }

  /**
   * The open tail: every session of [from, to] that ended at or after the columns' `upper`.
   * Read again only when the roll-up wrote to the site since (a day of a busy site is
   * hundreds of thousands of events, the slowest part of a query when it is read).
   */
  private async tail(
    siteId: string,
    columns: SiteColumns,
    from: number,
    to: number,
  ): Promise<ColumnarPart> {
    const version = await this.store.countersVersion(siteId)
    const key = `${version} ${columns.generation} ${columns.timeZone} ${columns.upper} ${from} ${to}`
    let tails = this.tails.get(siteId)
    if (!tails) this.tails.set(siteId, (tails = new Map()))
    const known = tails.get(key)
    if (known) return known
    const part = columnarPart(columns.dicts, await this.store.recordSessions(siteId, from, to))
    // Whether still current or not, the answer read at this version is right to give.
    if (version === (await this.store.countersVersion(siteId))) {
      for (const old of tails.keys()) {
        if (!old.startsWith(`${version} `) || tails.size >= TAILS_PER_SITE) tails.delete(old)
      }
      tails.set(key, part)
    }
    return part
  }

  /** The site's columns, covering sessions that ended at or after `from`; null: read directly. */
  private async columnsFor(
    siteId: string,
    timeZone: string,
    from: number,
  ): Promise<SiteColumns | null> {
    const fits = () => from > (this.tooBig.get(siteId) ?? Number.NEGATIVE_INFINITY)
    if (this.options.maxBytes === 0 || !fits()) return null
    for (;;) {
      const pending = this.updating.get(siteId)
      if (pending) {
        await pending
        continue
      }
      const closed = await this.closedBefore()
      const generation = this.store.recordGeneration(siteId)
      const held = this.sites.get(siteId)
      const valid =
        held?.timeZone === timeZone && held.generation === generation && held.upper <= closed
      if (held && !valid) this.drop(siteId)
      this.reached.set(siteId, Math.min(this.reached.get(siteId) ?? from, from))
      if (valid && from >= held.lower && closed - held.upper < EXTEND_AFTER_MS) return held
      if (!fits()) return null
      const update = this.update(siteId, timeZone, generation, from, closed).finally(() =>
        this.updating.delete(siteId),
      )
      this.updating.set(siteId, update)
      await update
      const now = this.sites.get(siteId)
      // Did not fit, or a deletion during the read (the next query rebuilds).
      if (!now || now.generation !== this.store.recordGeneration(siteId)) return null
      if (from >= now.lower) return now
    }
  }

  private drop(siteId: string): void {
    this.sites.delete(siteId)
    this.dayTallies.forget(siteId)
    this.dayProps.forget(siteId)
    this.options.scanPool?.forget(siteId)
  }

  /** Sessions that ended before this can no longer change (see the class comment). */
  private async closedBefore(): Promise<number> {
    const now = this.options.now()
    const pending = await this.store.oldestPendingAcceptedAt()
    const edge = Math.min(now, pending ?? now) - MAX_AGE_MS - this.options.sessionTimeoutMs
    // An hour's margin, and whole hours so extensions line up.
    return Math.floor(edge / HOUR_MS) * HOUR_MS - HOUR_MS
  }

  private async update(
    siteId: string,
    timeZone: string,
    generation: string,
    from: number,
    closed: number,
  ): Promise<void> {
    const known = this.sites.get(siteId)
    const held = known ?? (await this.restore(siteId, timeZone, generation, closed))
    // The held part's candidate lists go with it: the next part builds its own when asked.
    const heldBytes = held ? held.bytes + candidateIndexBytes(held.part) : 0
    const budget = this.options.maxBytes - (this.bytes() - heldBytes)
    const lower = Math.floor(from / HOUR_MS) * HOUR_MS
    let next: SiteColumns | null
    let same: { from: number; to: number } | null = null
    const started = Date.now()
    const reached = Math.floor(Math.min(this.reached.get(siteId) ?? from, from) / HOUR_MS) * HOUR_MS
    this.reached.delete(siteId)
    if (!held) {
      const dicts = new Dictionaries(timeZone)
      const part = await this.read(siteId, dicts, lower, closed, budget)
      next = part && { timeZone, generation, dicts, part, lower, upper: closed, bytes: 0 }
    } else {
      next = { ...held }
      // The moments whose days have the same sessions in the held part and the next one: an
      // earlier stretch ended before the held part's days, the later one may reach back into
      // the days it starts in, and days before what is kept go.
      same = { from: held.lower, to: Number.POSITIVE_INFINITY }
      if (lower < held.lower) {
        const earlier = await this.read(siteId, held.dicts, lower, held.lower, budget)
        next = earlier && { ...next, part: mergeParts(earlier, next.part), lower }
      }
      if (next && closed > held.upper) {
        const later = await this.read(siteId, held.dicts, held.upper, closed, budget)
        // Days before what this and the queries since the last extension reached are let go,
        // or the columns would grow with the server's uptime.
        const keepAtLeast = closed - (this.options.keepMs ?? 62 * DAY_MS)
        const keepFrom = Math.max(next.lower, Math.min(reached, keepAtLeast))
        const kept =
          keepFrom > next.lower ? { part: endedFrom(next.part, keepFrom), lower: keepFrom } : next
        if (later) same = { from: kept.lower, to: midnightBefore(later, timeZone) }
        next = later && {
          ...next,
          part: mergeParts(kept.part, later),
          lower: kept.lower,
          upper: closed,
        }
      }
    }
    if (next) next.bytes = partBytes(next.part) + next.dicts.bytes()
    if (!next || next.bytes > budget) {
      // What is held still answers the queries it covered, unless time passing outgrew it.
      const extendingDown = held !== undefined && lower < held.lower && next === null
      if (!extendingDown) this.drop(siteId)
      this.tooBig.set(siteId, extendingDown ? from : Number.POSITIVE_INFINITY)
      if (!this.logged.has(siteId)) {
        this.logged.add(siteId)
        this.options.logger.warn(
          { site: siteId, maxBytes: this.options.maxBytes },
          "the record's columns do not fit RECORD_MEMORY_MB: this site's filtered stats over that span read the store directly (slower)",
        )
      }
      return
    }
    if (held && held.part !== next.part) {
      this.options.scanPool?.forget(siteId)
      if (same) {
        this.dayTallies.carry(siteId, next.part, same)
        this.dayProps.carry(siteId, next.part, same)
      } else {
        this.dayTallies.forget(siteId)
        this.dayProps.forget(siteId)
      }
    }
    this.sites.set(siteId, next)
    this.options.logger.info(
      {
        site: siteId,
        sessions: next.part.sessions,
        events: next.part.at.length,
        bytes: next.bytes,
        ms: Date.now() - started,
        restored: known === undefined && held !== undefined,
      },
      "record's columns loaded",
    )
    this.save(siteId, next)
  }

  /**
   * The columns saved by an earlier process, when they are still a copy of the record
   * (columns-snapshot.ts) and fit: held as if this process had read them, so `update` only
   * extends them by what closed since and what the query reaches further back.
   */
  private async restore(
    siteId: string,
    timeZone: string,
    generation: string,
    closed: number,
  ): Promise<SiteColumns | undefined> {
    const { snapshots } = this.options
    if (!snapshots || !this.store.recordIdentity?.(siteId)) return undefined
    const copy = await snapshots.load(siteId)
    if (!copy) return undefined
    // Read after the file, in the same tick as the checks: nothing rewrites in between.
    const identity = this.store.recordIdentity(siteId)
    const bytes = partBytes(copy.part) + copy.dicts.bytes()
    const usable =
      identity !== null &&
      copy.timeZone === timeZone &&
      copy.identity.rewrites === identity.rewrites &&
      copy.identity.nextOrd <= identity.nextOrd &&
      copy.upper <= closed &&
      this.store.recordGeneration(siteId) === generation &&
      bytes <= this.options.maxBytes - this.bytes()
    if (!usable) return undefined
    const columns: SiteColumns = {
      timeZone,
      generation,
      dicts: copy.dicts,
      part: copy.part,
      lower: copy.lower,
      upper: copy.upper,
      bytes,
    }
    this.saved.set(siteId, { lower: copy.lower, upper: copy.upper })
    this.sites.set(siteId, columns)
    return columns
  }

  /**
   * Saves the site's columns for the next start when they were first read, reach further
   * back, or grew by SAVE_EVERY_MS since last saved: in the background, one save at a time,
   * each writing the site's columns as they are when it starts.
   */
  private save(siteId: string, columns: SiteColumns): void {
    const { snapshots } = this.options
    if (!snapshots || !this.store.recordIdentity) return
    const last = this.saved.get(siteId)
    if (last && last.lower === columns.lower && columns.upper - last.upper < SAVE_EVERY_MS) return
    this.saved.set(siteId, { lower: columns.lower, upper: columns.upper })
    this.saving = this.saving.then(async () => {
      const now = this.sites.get(siteId)
      // The identity the columns were read at: nothing was rewritten since, or the
      // generation would have moved (a rewrite drops the columns).
      const identity = this.store.recordIdentity?.(siteId) ?? null
      if (!now || !identity || this.store.recordGeneration(siteId) !== now.generation) return
      try {
        await snapshots.save({
          siteId,
          timeZone: now.timeZone,
          identity,
          lower: now.lower,
          upper: now.upper,
          dicts: now.dicts,
          part: now.part,
        })
      } catch (error) {
        this.saved.delete(siteId)
        this.options.logger.warn({ site: siteId, err: error }, "saving the record's columns failed")
      }
    })
  }

  /** Waits for the saves under way (a server stopping lets them finish). */
  async whenSaved(): Promise<void> {
    await this.saving
  }

  /** The sessions that ended in [lower, upper), read a stretch at a time; null past `budget`. */
  private async read(
    siteId: string,
    dicts: Dictionaries,
    lower: number,
    upper: number,
    budget: number,
  ): Promise<ColumnarPart | null> {
    const builder = new PartBuilder(dicts)
    const stretch = this.options.stretchMs ?? 2 * HOUR_MS
    for (let at = lower; at < upper; at += stretch) {
      const end = Math.min(at + stretch, upper)
      // Those overlapping [at, end - 1], kept when they ended in it: each session once.
      for (const session of await this.store.recordSessions(siteId, at, end - 1)) {
        if (session.end_time < end) builder.add(session)
      }
      if (builder.bytes() > budget) return null
      await yieldToLoop()
    }
    return builder.finish()
  }
}
