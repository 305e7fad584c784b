import type { LiveEvent } from '../storage/store.ts'
import { MINUTE_MS, MinuteCounts } from './minute-counts.ts'
import { Overflow } from './overflow.ts'

/** Active visitors look back 5 minutes, sessions 30 (docs/design.md, Metrics). */
export const ACTIVE_VISITOR_MS = 5 * MINUTE_MS
export const ACTIVE_SESSION_MS = 30 * MINUTE_MS
const CHART_MINUTES = 30
/** Ingest accepts timestamps up to 5 minutes ahead of the server clock. */
const AHEAD_MINUTES = 5
const RECENT_LIMIT = 20
/** Breakdown lists are cut so a snapshot pushed every second stays small on a busy site. */
const LIST_LIMIT = 25
/**
 * Visitor and session entries kept exactly by default, all sites together: about 25 MB (an
 * entry is a Map slot, an id string and a small object), and enough for a site with tens of
 * thousands of visitors at once.
 */
export const DEFAULT_BUDGET_ENTRIES = 100_000
/** How often `add` sweeps stale entries; snapshots sweep on every call anyway. */
const PRUNE_EVERY_MS = 10_000

export interface RecentEvent {
  timestamp: string
  event_type: string
  page_url: string
  title: string
  country: string
  device: string
  session_id: string
}

export interface RealtimeSnapshot {
  active_visitors: number
  active_sessions: number
  pages: { page_url: string; visitors: number }[]
  /** 30 buckets, oldest first; the last one is the current minute. */
  pageviews_per_minute: number[]
  /** Events of the current minute and the four before it (the chart's last 5 buckets). */
  events_last_5m: number
  sources: { source: string; visitors: number }[]
  countries: { country: string; visitors: number }[]
  devices: { device: string; visitors: number }[]
  /** Newest first. */
  recent_events: RecentEvent[]
  /**
   * True when the site had more live visitors or sessions than its share of the window's
   * budget in the last 30 minutes: the counts and lists are then estimates (live-window.ts).
   */
  approximate: boolean
  generated_at: string
}

/** What a visitor looks like right now: the attributes of their latest event. */
interface VisitorState {
  last: number
  path: string
  source: string
  country: string
  device: string
  session_id: string
}

/**
 * The exact state all sites keep together, in visitor and session entries, and how it is
 * shared: a site may add an entry while it holds less than its fair share (the budget over
 * the sites in the window) or while the budget is not used up. So a flood on one site takes
 * the free budget but never another site's share, and the exact state of all sites together
 * stays under twice the budget.
 */
class Budget {
  total = 0
  sites = 1

  constructor(readonly limit: number) {}

  admits(site: SiteWindow): boolean {
    return this.total < this.limit || site.entries < this.limit / this.sites
  }
}

/** One site's window. Every structure is bounded by the budget or a constant. */
class SiteWindow {
  readonly visitors = new Map<string, VisitorState>()
  readonly sessions = new Map<string, number>()
  readonly pageviews = new MinuteCounts(CHART_MINUTES, AHEAD_MINUTES)
  readonly events = new MinuteCounts(CHART_MINUTES, AHEAD_MINUTES)
  /** The latest events by timestamp, newest first, at most RECENT_LIMIT. */
  recent: LiveEvent[] = []
  lastPrune = 0
  version = 0
  cached?: { version: number; second: number; snapshot: RealtimeSnapshot }
  /** What did not fit the budget, as sketches; made on the first refusal. */
  overflow: Overflow | undefined

  constructor(private readonly budget: Budget) {}

  get entries(): number {
    return this.visitors.size + this.sessions.size
  }

  /** Counts are estimates while anything refused in the windows they look back over is in them. */
  approximate(now: number): boolean {
    return this.overflow !== undefined && this.overflow.lastRefused > now - ACTIVE_SESSION_MS
  }

  /** Some of the last half hour is not in the window (a restart read only its latest part). */
  markIncomplete(now: number): void {
    this.overflowAt(now)
  }

  private overflowAt(now: number): Overflow {
    this.overflow ??= new Overflow(AHEAD_MINUTES)
    this.overflow.lastRefused = now
    return this.overflow
  }

  add(e: LiveEvent, now: number): void {
    if (now - e.timestamp < ACTIVE_VISITOR_MS) {
      const known = this.visitors.get(e.visitor_id)
      if (!known && !this.budget.admits(this)) {
        this.overflowAt(now).addVisitor(e, now)
      } else if (!known) {
        this.budget.total++
        this.visitors.set(e.visitor_id, {
          last: e.timestamp,
          path: e.path,
          source: e.source,
          country: e.country,
          device: e.device,
          session_id: e.session_id,
        })
      } else if (e.timestamp >= known.last) {
        // Out-of-order arrivals: only an event at least as late as the known one moves the
        // visitor. Updated in place: an object per event was garbage kept until the next one.
        known.last = e.timestamp
        known.path = e.path
        // Within a visit, later pages are self-referrals ("Direct"): keep where they came from.
        if (e.source !== 'Direct') known.source = e.source
        known.country = e.country
        known.device = e.device
        known.session_id = e.session_id
      }
    }
    if (now - e.timestamp < ACTIVE_SESSION_MS) {
      const last = this.sessions.get(e.session_id)
      if (last === undefined && !this.budget.admits(this)) {
        this.overflowAt(now).addSession(e, now)
      } else if (last === undefined || e.timestamp > last) {
        if (last === undefined) this.budget.total++
        this.sessions.set(e.session_id, e.timestamp)
      }
    }
    this.events.add(e.timestamp, now)
    if (e.event_type === 'page_view') this.pageviews.add(e.timestamp, now)
    this.remember(e)
  }

  private remember(e: LiveEvent): void {
    const oldest = this.recent.at(-1)
    if (this.recent.length >= RECENT_LIMIT && oldest && e.timestamp < oldest.timestamp) return
    // Newest first; on a tie the later arrival counts as newer.
    const at = this.recent.findIndex((r) => r.timestamp <= e.timestamp)
    this.recent.splice(at === -1 ? this.recent.length : at, 0, e)
    if (this.recent.length > RECENT_LIMIT) this.recent.length = RECENT_LIMIT
  }

  prune(now: number): void {
    this.lastPrune = now
    const before = this.entries
    for (const [id, v] of this.visitors)
      if (now - v.last >= ACTIVE_VISITOR_MS) this.visitors.delete(id)
    for (const [id, last] of this.sessions)
      if (now - last >= ACTIVE_SESSION_MS) this.sessions.delete(id)
    this.budget.total -= before - this.entries
    if (this.overflow && !this.approximate(now)) this.overflow = undefined
    else this.overflow?.prune(now)
    this.pageviews.prune(now)
    this.events.prune(now)
    this.recent = this.recent.filter((e) => now - e.timestamp < ACTIVE_SESSION_MS)
  }
}

/**
 * The realtime window, fed with every committed batch. It keeps per-visitor state instead of
 * events, so memory follows active visitors, not traffic. The accept stage keeps it, next to
 * the events it is fed (live-view.ts says why); `now` is the clock of the caller, carried with
 * every call (in the embedded server, the HTTP thread's).
 */
export class LiveWindow {
  private readonly sites = new Map<string, SiteWindow>()
  private readonly budget: Budget

  /**
   * @param budgetEntries visitor and session entries kept exactly, all sites together (see
   *   Budget); past a site's share its counts become estimates, marked `approximate`.
   */
  constructor(
    private readonly now: () => number,
    budgetEntries = DEFAULT_BUDGET_ENTRIES,
  ) {
    this.budget = new Budget(budgetEntries)
  }

  add(events: readonly LiveEvent[]): void {
    const now = this.now()
    const touched = new Set<SiteWindow>()
    for (const e of events) {
      let site = this.sites.get(e.site_id)
      if (!site) {
        site = new SiteWindow(this.budget)
        site.lastPrune = now
        this.sites.set(e.site_id, site)
        this.budget.sites = this.sites.size
      }
      // Stale entries go before new ones are counted against the budget.
      if (now - site.lastPrune >= PRUNE_EVERY_MS) site.prune(now)
      site.add(e, now)
      touched.add(site)
    }
    for (const site of touched) site.version++
  }

  snapshot(siteId: string): RealtimeSnapshot {
    const now = this.now()
    const site = this.sites.get(siteId)
    if (!site) return emptySnapshot(now)
    // Many dashboards of one site share one computation per second and change.
    const second = Math.floor(now / 1000)
    const cached = site.cached
    if (cached && cached.version === site.version && cached.second === second)
      return cached.snapshot
    site.prune(now)
    const snapshot = build(site, now)
    site.cached = { version: site.version, second, snapshot }
    return snapshot
  }

  /**
   * Reads a site's stored events into the window (a restart's first read); `complete` false
   * when they were only the latest part of its half hour: its counts are then estimates,
   * marked so, until the part not read has left the window.
   */
  seed(siteId: string, events: readonly LiveEvent[], complete: boolean): void {
    this.add(events)
    if (complete) return
    let site = this.sites.get(siteId)
    if (!site) {
      site = new SiteWindow(this.budget)
      site.lastPrune = this.now()
      this.sites.set(siteId, site)
      this.budget.sites = this.sites.size
    }
    site.markIncomplete(this.now())
  }

  /** Entries held for a site, so tests can check that memory stays bounded. */
  size(siteId: string) {
    const site = this.sites.get(siteId)
    return {
      visitors: site?.visitors.size ?? 0,
      sessions: site?.sessions.size ?? 0,
      minutes: Math.max(site?.pageviews.size ?? 0, site?.events.size ?? 0),
      recent: site?.recent.length ?? 0,
      sketchMinutes: site?.overflow?.minutes ?? 0,
    }
  }
}

function build(site: SiteWindow, now: number): RealtimeSnapshot {
  const pages = new Map<string, number>()
  const sources = new Map<string, number>()
  const countries = new Map<string, number>()
  const devices = new Map<string, number>()
  for (const v of site.visitors.values()) {
    bump(pages, v.path)
    bump(sources, v.source)
    bump(countries, v.country)
    bump(devices, v.device)
  }
  const approximate = site.approximate(now)
  const overflow = approximate ? site.overflow?.estimate(now) : undefined
  if (overflow) {
    const lists = [
      [pages, overflow.pages],
      [sources, overflow.sources],
      [countries, overflow.countries],
      [devices, overflow.devices],
    ] as const
    for (const [counts, extra] of lists) for (const [key, n] of extra) bump(counts, key, n)
  }
  return {
    active_visitors: site.visitors.size + (overflow?.visitors ?? 0),
    active_sessions: site.sessions.size + (overflow?.sessions ?? 0),
    pages: ranked(pages).map(([page_url, visitors]) => ({ page_url, visitors })),
    pageviews_per_minute: site.pageviews.series(now, CHART_MINUTES),
    events_last_5m: site.events.series(now, 5).reduce((a, b) => a + b, 0),
    sources: ranked(sources).map(([source, visitors]) => ({ source, visitors })),
    countries: ranked(countries).map(([country, visitors]) => ({ country, visitors })),
    devices: ranked(devices).map(([device, visitors]) => ({ device, visitors })),
    recent_events: site.recent.map((e) => ({
      timestamp: new Date(e.timestamp).toISOString(),
      event_type: e.event_type,
      page_url: e.path,
      title: e.title,
      country: e.country,
      device: e.device,
      session_id: e.session_id,
    })),
    approximate,
    generated_at: new Date(now).toISOString(),
  }
}

function emptySnapshot(now: number): RealtimeSnapshot {
  return build(new SiteWindow(new Budget(0)), now)
}

function bump(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by)
}

/** Most visitors first, then by name, so equal counts keep a stable order between pushes. */
function ranked(counts: Map<string, number>): [string, number][] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, LIST_LIMIT)
}
