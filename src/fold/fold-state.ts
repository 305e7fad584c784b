import { localDay } from '../core/calendar.ts'
import { markHash } from '../core/mark-hash.ts'
import { MAX_AGE_MS, MAX_FUTURE_MS } from '../core/parse-event.ts'
import type { PropValue, SessionState, VisitorMark } from '../core/types.ts'
import { capDistinctValues, DistinctValues, limitProps } from '../record/property-limits.ts'
import { type ReadSession, sessionEventsAfter } from '../record/session-events.ts'
import type { RecordEvent } from '../record/session-record.ts'
import {
  itemTime,
  type RecordInput,
  type RollupEntry,
  type RollupQueue,
  type RollupUnit,
} from '../storage/store.ts'
import { SiteFold } from './site-fold.ts'

/** A session as the fold keeps it: its state and its recorded events (null: before the record). */
export interface FoldSession {
  session: SessionState
  events: RecordEvent[] | null
}

/**
 * How far back the fold must remember, from the arrival time of what it counts. The collector
 * refuses events more than MAX_AGE_MS old or MAX_FUTURE_MS ahead of its clock, so an event
 * arriving at `t` happened after `t - MAX_AGE_MS`:
 * - a duplicate of it (the same key) can only arrive while that holds, so keys of events
 *   older than that are never asked for again;
 * - it can join a session that ended a session timeout before it, no earlier;
 * - it claims visitor marks of its own local day, which began at most a day (25 hours on a
 *   daylight-saving day) before it happened.
 */
export function horizons(sessionTimeoutMs: number) {
  const age = MAX_AGE_MS + MAX_FUTURE_MS
  const marksMs = age + 25 * 3_600_000
  return {
    countedMs: age,
    sessionsMs: age + sessionTimeoutMs,
    marksMs,
    /** The longest of them: what a rebuild reads back. */
    longestMs: Math.max(marksMs, age + sessionTimeoutMs),
  }
}

/** An entry's identity: its stored item's key where the source gives one, else the event's. */
export function identityOf(entry: RollupEntry): number {
  const { item } = entry
  const site = item.kind === 'event' ? item.event.site_id : item.hit.site_id
  if (entry.origin) return markHash(site, entry.origin.partition, entry.origin.id)
  if (item.kind === 'bot') {
    throw new Error(`fold: a bot hit of ${site} at ${item.hit.timestamp} came without its key`)
  }
  const e = item.event
  return markHash(site, e.client_session_id, `${e.timestamp}#${e.event_id}`)
}

/** How to take back one change to a site's memory (SiteState.rollback). */
type Undo =
  | { kind: 'counted'; hash: number }
  | { kind: 'mark'; day: string; hash: number }
  | { kind: 'client'; client: string; before: FoldSession[] | undefined }

/** One site's state: what a new event of it can touch. */
export class SiteState {
  /** Sessions by tracker session id. */
  readonly sessions = new Map<string, FoldSession[]>()
  /** Counted entries' identities (identityOf) and when they happened. */
  readonly counted = new Map<number, number>()
  /** Claimed visitor marks (core/mark-hash.ts) by site-local day. */
  readonly marks = new Map<string, Set<number>>()
  timezone = 'UTC'
  /** While a window is open (begin): how to take its changes back. */
  private journal: Undo[] | null = null
  private touchedClients = new Set<string>()

  /** Starts recording changes, so a window its writer could not store can be taken back. */
  begin(): void {
    this.journal = []
    this.touchedClients.clear()
  }

  /** Keeps the changes since `begin`. */
  commit(): void {
    this.journal = null
    this.touchedClients.clear()
  }

  /** Takes back every change since `begin`. */
  rollback(): void {
    const journal = this.journal ?? []
    this.journal = null
    this.touchedClients.clear()
    for (const undo of journal.reverse()) {
      if (undo.kind === 'counted') this.counted.delete(undo.hash)
      else if (undo.kind === 'mark') this.marks.get(undo.day)?.delete(undo.hash)
      else if (undo.before) this.sessions.set(undo.client, undo.before)
      else this.sessions.delete(undo.client)
    }
  }

  count(hash: number, at: number): void {
    if (this.journal && !this.counted.has(hash)) this.journal.push({ kind: 'counted', hash })
    this.counted.set(hash, at)
  }

  hasMark(day: string, hash: number): boolean {
    return this.marks.get(day)?.has(hash) ?? false
  }

  addMark(day: string, hash: number): void {
    let set = this.marks.get(day)
    if (!set) {
      set = new Set()
      this.marks.set(day, set)
    }
    if (this.journal && !set.has(hash)) this.journal.push({ kind: 'mark', day, hash })
    set.add(hash)
  }

  /** Puts a session in (a newer state of the same id replaces the older). */
  putSession(kept: FoldSession): void {
    const client = kept.session.client_session_id
    this.touch(client)
    const list = (this.sessions.get(client) ?? []).filter((s) => s.session.id !== kept.session.id)
    list.push(kept)
    this.sessions.set(client, list)
  }

  /** Takes a session out of its tracker session's (`client`) sessions. */
  removeSession(id: string, client: string): void {
    const list = this.sessions.get(client)
    if (!list?.some((s) => s.session.id === id)) return
    this.touch(client)
    const rest = list.filter((s) => s.session.id !== id)
    if (rest.length) this.sessions.set(client, rest)
    else this.sessions.delete(client)
  }

  /** Journals a tracker session's sessions as they were, before a window's first change. */
  private touch(client: string): void {
    if (!this.journal || this.touchedClients.has(client)) return
    this.touchedClients.add(client)
    const before = this.sessions.get(client)
    this.journal.push({ kind: 'client', client, before: before ? [...before] : undefined })
  }

  /** Forgets what no event arriving at `arrival` or later can touch (horizons). */
  prune(arrival: number, limits: ReturnType<typeof horizons>): void {
    for (const [key, at] of this.counted)
      if (at < arrival - limits.countedMs) this.counted.delete(key)
    for (const [client, list] of this.sessions) {
      const rest = list.filter((s) => s.session.end_time >= arrival - limits.sessionsMs)
      if (rest.length) this.sessions.set(client, rest)
      else this.sessions.delete(client)
    }
    const firstDay = localDay(arrival - limits.marksMs, this.timezone)
    for (const day of this.marks.keys()) if (day < firstDay) this.marks.delete(day)
  }
}

/**
 * The fold's memory (issue 23): every site's recent sessions, counted entries and visitor
 * marks, held by one process, so a roll-up unit reads and claims nothing from storage. The
 * roll-up itself is the shared one (rollup/roll-up-batch.ts), so the fold counts exactly as
 * the SQLite store does, in arrival order.
 *
 * A unit's changes are staged and applied only when it returns: a unit that throws leaves
 * the state as it was. What units change is also gathered per site (`takeSite`) as the window's
 * output, which the fold stores; replaying stored outputs in order (`replay`) rebuilds the
 * state, so a new process continues where the last stored output left off.
 */
export class FoldState implements Pick<RollupQueue, 'rollup'> {
  private readonly sites = new Map<string, SiteState>()
  private readonly output = new Map<string, SiteFold>()
  /** The record's cap on distinct property values, per site and day (property-limits.ts). */
  private readonly distinct = new DistinctValues()
  readonly limits: ReturnType<typeof horizons>

  constructor(sessionTimeoutMs: number) {
    this.limits = horizons(sessionTimeoutMs)
  }

  site(id: string): SiteState {
    let site = this.sites.get(id)
    if (!site) {
      site = new SiteState()
      this.sites.set(id, site)
    }
    return site
  }

  /** What units changed for one site since the last take: the window's output. */
  private siteFold(id: string): SiteFold {
    let fold = this.output.get(id)
    if (!fold) {
      fold = new SiteFold(id)
      this.output.set(id, fold)
    }
    return fold
  }

  /** What units changed for one site since the last take, if anything. */
  takeSite(siteId: string): SiteFold | undefined {
    const fold = this.output.get(siteId)
    this.output.delete(siteId)
    return fold && !fold.isEmpty() ? fold : undefined
  }

  /** Drops everything held of a site (its stored outputs will be replayed). */
  forget(siteId: string): void {
    this.sites.delete(siteId)
    this.output.delete(siteId)
  }

  /** Applies a stored output of a site again, in the order they were stored. */
  replay(fold: SiteFold): void {
    const site = this.site(fold.siteId)
    if (fold.timezone) site.timezone = fold.timezone
    for (const [hash, at] of fold.counted) site.count(hash, at)
    for (const [day, hash] of fold.marks) site.addMark(day, hash)
    for (const [id, client] of fold.removed) site.removeSession(id, client)
    for (const kept of fold.sessions.values()) site.putSession(kept)
  }

  /**
   * Called before a unit first reads or changes a site, with the earliest time it reads
   * about: a writer that shares the site with others makes sure its memory of it is current
   * (storage/dynamodb/fold-writer.ts). None: the memory is the only writer's.
   */
  beforeSite: ((siteId: string, from: number) => Promise<void>) | undefined

  async rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    return (await this.runUnit(work)).result
  }

  /** A unit, and what it read and wrote: the stored sessions it read, its write's changes. */
  async runUnit<T>(
    work: (unit: RollupUnit) => Promise<T>,
    hourlyDimensionsFrom = Number.NEGATIVE_INFINITY,
  ): Promise<UnitRun<T>> {
    const unit = new FoldUnit(this, hourlyDimensionsFrom)
    // A plain object, so a caller may wrap a step by spreading it (`{ ...unit, … }`).
    const result = await work({
      hourlyDimensionsFrom,
      uncounted: (entries) => unit.uncounted(entries),
      sessionsFor: (lookups) => unit.sessionsFor(lookups),
      claimMarks: (marks) => unit.claimMarks(marks),
      write: (changes) => unit.write(changes),
    })
    // A writer may hand its write back unawaited (a history import overlaps its next unit).
    await unit.writing
    this.apply(unit)
    return { result, read: unit.read, written: unit.written }
  }

  private apply(unit: FoldUnit): void {
    for (const { site, hash, at } of unit.counting) {
      this.site(site).count(hash, at)
      this.siteFold(site).counted.push([hash, at])
    }
    for (const { site, day, hash } of unit.claims) {
      this.site(site).addMark(day, hash)
      this.siteFold(site).marks.push([day, hash])
    }
    const changes = unit.written
    if (!changes) return
    // The stored sessions each written one may span, as they were before the unit: those it
    // read, and those of its tracker session held here (a writer that continues sessions it
    // did not read back, as a history import does).
    const before = new Map<string, ReadSession[]>()
    for (const session of changes.sessions) {
      const client = session.client_session_id
      if (before.has(client)) continue
      const held = this.site(session.site_id).sessions.get(client) ?? []
      const read = new Map<string, ReadSession>(held.map((k) => [k.session.id, k]))
      for (const [id, r] of unit.read) if (r.session.client_session_id === client) read.set(id, r)
      before.set(client, [...read.values()])
    }
    for (const id of changes.removedSessions ?? []) {
      // A session is merged away only by a unit that read it.
      const removed = unit.read.get(id)?.session
      if (!removed) continue
      this.site(removed.site_id).removeSession(id, removed.client_session_id)
      this.siteFold(removed.site_id).removeSession(id, removed.client_session_id)
    }
    const record = changes.record ?? []
    for (const session of changes.sessions) {
      const read = before.get(session.client_session_id) ?? []
      const events = sessionEventsAfter(session, read, record, (e) => this.limited(e)) ?? null
      const kept = { session: { ...session }, events }
      this.site(session.site_id).putSession(kept)
      this.siteFold(session.site_id).putSession(kept)
    }
    for (const delta of changes.deltas) {
      this.siteFold(delta.key.site_id).deltas.add(delta.key, delta.counters)
    }
    for (const e of record) {
      const site = this.site(e.site_id)
      site.timezone = e.timezone
      this.siteFold(e.site_id).timezone = e.timezone
    }
  }

  private limited(e: RecordInput): Record<string, PropValue> | null {
    const day = localDay(e.timestamp, e.timezone)
    return capDistinctValues(limitProps(e.props), (key, value) =>
      this.distinct.admit(e.site_id, day, key, value),
    )
  }
}

type WriteChanges = Parameters<RollupUnit['write']>[0]

export interface UnitRun<T> {
  result: T
  /** The stored sessions the unit read, by id, as they were before it. */
  read: ReadonlyMap<string, ReadSession>
  written: WriteChanges | undefined
}

/** One unit over the fold's memory: reads from it, stages what it would change. */
class FoldUnit implements RollupUnit {
  readonly counting: Array<{ site: string; hash: number; at: number }> = []
  readonly claims: Array<{ site: string; day: string; hash: number }> = []
  /** Stored sessions the unit read, by id, for their recorded events. */
  readonly read = new Map<string, ReadSession>()
  /** Marks claimed by this unit, by site, day and hash: a mark repeated in it is claimed once. */
  private readonly claimed = new Set<string>()
  written: WriteChanges | undefined

  constructor(
    private readonly state: FoldState,
    readonly hourlyDimensionsFrom: number,
  ) {}

  /** Sites this unit has touched: the state's beforeSite hook ran for each. */
  private readonly touched = new Set<string>()

  private async touch(siteId: string, from: number): Promise<void> {
    if (this.touched.has(siteId)) return
    this.touched.add(siteId)
    await this.state.beforeSite?.(siteId, from)
  }

  async uncounted(entries: readonly RollupEntry[]): Promise<RollupEntry[]> {
    const earliest = new Map<string, number>()
    for (const { item } of entries) {
      const site = item.kind === 'event' ? item.event.site_id : item.hit.site_id
      earliest.set(site, Math.min(earliest.get(site) ?? Number.POSITIVE_INFINITY, itemTime(item)))
    }
    for (const [site, from] of earliest) await this.touch(site, from)
    const out: RollupEntry[] = []
    const seen = new Set<string>()
    for (const entry of entries) {
      const site = entry.item.kind === 'event' ? entry.item.event.site_id : entry.item.hit.site_id
      const hash = identityOf(entry)
      const key = `${site}\u001f${hash}`
      if (seen.has(key) || this.state.site(site).counted.has(hash)) continue
      seen.add(key)
      this.counting.push({ site, hash, at: itemTime(entry.item) })
      out.push(entry)
    }
    return out
  }

  async sessionsFor(
    lookups: readonly { site_id: string; client_session_id: string; from: number; to: number }[],
  ): Promise<SessionState[]> {
    for (const lookup of lookups) await this.touch(lookup.site_id, lookup.from)
    const out: SessionState[] = []
    for (const lookup of lookups) {
      const list = this.state.site(lookup.site_id).sessions.get(lookup.client_session_id) ?? []
      for (const kept of list) {
        const s = kept.session
        if (s.end_time < lookup.from || s.start_time > lookup.to) continue
        if (this.read.has(s.id)) continue
        this.read.set(s.id, kept)
        out.push({ ...s })
      }
    }
    return out
  }

  async claimMarks(marks: readonly VisitorMark[]): Promise<boolean[]> {
    for (const mark of marks) await this.touch(mark.site_id, Date.parse(mark.day) - 86_400_000)
    const staged = this.claimed
    return marks.map((mark) => {
      const hash = markHash(mark.site_id, mark.scope, mark.visitor_id)
      const key = `${mark.site_id}\u001f${mark.day}\u001f${hash}`
      if (staged.has(key) || this.state.site(mark.site_id).hasMark(mark.day, hash)) return false
      staged.add(key)
      this.claims.push({ site: mark.site_id, day: mark.day, hash })
      return true
    })
  }

  /** The unit's write while it runs: `runUnit` waits for it. */
  writing: Promise<void> | undefined

  write(changes: WriteChanges): Promise<void> {
    this.writing = this.stage(changes)
    return this.writing
  }

  private async stage(changes: WriteChanges): Promise<void> {
    const sites = new Map<string, number>()
    const at = (site: string, time: number) =>
      sites.set(site, Math.min(sites.get(site) ?? Number.POSITIVE_INFINITY, time))
    for (const s of changes.sessions) at(s.site_id, s.start_time)
    // Deltas alone read nothing of the site: only its window number is needed.
    for (const d of changes.deltas) at(d.key.site_id, Number.POSITIVE_INFINITY)
    for (const [site, from] of sites) await this.touch(site, from)
    this.written = changes
  }
}
