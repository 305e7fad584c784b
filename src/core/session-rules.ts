import type { Acquisition, RollupEvent, SessionState } from './types.ts'

export const PAGE_VIEW = 'page_view'
/** The tracker's "time spent on the page" ping: it lengthens a session but undoes no bounce. */
export const ENGAGEMENT = 'engagement'

export function isInteraction(eventType: string): boolean {
  return eventType !== PAGE_VIEW && eventType !== ENGAGEMENT
}

/** Exactly one page view and no other interaction (docs/design.md, Metrics). */
export function isBounce(session: SessionState): boolean {
  return session.pageviews === 1 && session.interactions === 0
}

export function clientKey(siteId: string, clientSessionId: string): string {
  return `${siteId}\u001f${clientSessionId}`
}

export interface SessionChange {
  /** The session as it was stored before this batch, or null when the batch created it. */
  before: SessionState | null
  /** The session now, or null when it was merged into another and is gone. */
  after: SessionState | null
}

export interface Sessionized {
  changes: SessionChange[]
  /** event_id → internal session id (events are unique per site by then). */
  sessionOf: Map<RollupEvent, string>
}

/** A session of one event. */
export function startSession(event: RollupEvent, id: string): SessionState {
  return {
    id,
    site_id: event.site_id,
    client_session_id: event.client_session_id,
    visitor_id: event.visitor_id,
    user_id: event.user_id,
    start_time: event.timestamp,
    end_time: event.timestamp,
    pageviews: event.event_type === PAGE_VIEW ? 1 : 0,
    interactions: isInteraction(event.event_type) ? 1 : 0,
    entry_page: event.path,
    exit_page: event.path,
    hostname: event.host,
    referrer: event.referrer_host,
    source: event.source,
    channel: event.channel,
    utm_source: event.utm_source,
    utm_medium: event.utm_medium,
    utm_campaign: event.utm_campaign,
    utm_term: event.utm_term,
    utm_content: event.utm_content,
    browser: event.browser,
    os: event.os,
    device: event.device,
    country: event.country,
    screen: event.screen,
  }
}

/** A new, earlier start: the entry page and where the visit came from move with it. */
function takeEntry(
  session: SessionState,
  start: number,
  page: string,
  hostname: string,
  referrer: string,
  from: Acquisition,
): void {
  session.start_time = start
  session.entry_page = page
  session.hostname = hostname
  session.referrer = referrer
  session.source = from.source
  session.channel = from.channel
  session.utm_source = from.utm_source
  session.utm_medium = from.utm_medium
  session.utm_campaign = from.utm_campaign
  session.utm_term = from.utm_term
  session.utm_content = from.utm_content
}

/** Folds one more event into a session, in whatever order events arrive. */
export function extendSession(session: SessionState, event: RollupEvent): void {
  // An earlier event arrived late: it is the real entry, with the real referrer.
  if (event.timestamp < session.start_time)
    takeEntry(session, event.timestamp, event.path, event.host, event.referrer_host, event)
  if (event.timestamp >= session.end_time) {
    session.end_time = event.timestamp
    session.exit_page = event.path
  }
  if (event.event_type === PAGE_VIEW) session.pageviews += 1
  if (isInteraction(event.event_type)) session.interactions += 1
  session.user_id ??= event.user_id
  if (!session.country && event.country) session.country = event.country
}

/**
 * Folds `other` into `into`, as if their events had always been one session: a late event
 * that fills the gap between two sessions joins them.
 */
function absorb(into: SessionState, other: SessionState): void {
  if (other.start_time < into.start_time) {
    takeEntry(into, other.start_time, other.entry_page, other.hostname, other.referrer, other)
  }
  if (other.end_time >= into.end_time) {
    into.end_time = other.end_time
    into.exit_page = other.exit_page
  }
  into.pageviews += other.pageviews
  into.interactions += other.interactions
  into.user_id ??= other.user_id
  if (!into.country && other.country) into.country = other.country
}

function withinTimeout(a: SessionState, b: SessionState, timeoutMs: number): boolean {
  return b.start_time <= a.end_time + timeoutMs && b.end_time >= a.start_time - timeoutMs
}

/**
 * Assigns each event to a session: the stored or new session of its client session id whose
 * span, widened by the timeout on both sides, contains the event; otherwise a new session.
 * Events are taken in time order, so a batch may arrive shuffled.
 */
export function sessionize(input: {
  events: readonly RollupEvent[]
  existing: readonly SessionState[]
  timeoutMs: number
  newId: (siteId: string, clientSessionId: string) => string
}): Sessionized {
  const byClient = new Map<string, SessionState[]>()
  const before = new Map<string, SessionState | null>()
  const current = new Map<string, SessionState>()
  for (const stored of input.existing) {
    const copy = { ...stored }
    current.set(copy.id, copy)
    const key = clientKey(copy.site_id, copy.client_session_id)
    const list = byClient.get(key)
    if (list) list.push(copy)
    else byClient.set(key, [copy])
  }

  const sessionOf = new Map<RollupEvent, string>()
  /** Merged-away session id → the session that absorbed it. */
  const mergedInto = new Map<string, string>()
  // A grown session may now reach a neighbour of the same client: the earlier one absorbs it.
  const mergeNeighbours = (grown: SessionState, list: SessionState[]) => {
    let survivor = grown
    for (;;) {
      const other = list.find((s) => s !== survivor && withinTimeout(survivor, s, input.timeoutMs))
      if (!other) return
      const [keep, gone] =
        other.start_time < survivor.start_time ? [other, survivor] : [survivor, other]
      if (!before.has(keep.id)) before.set(keep.id, { ...keep })
      if (!before.has(gone.id)) before.set(gone.id, { ...gone })
      absorb(keep, gone)
      list.splice(list.indexOf(gone), 1)
      current.delete(gone.id)
      mergedInto.set(gone.id, keep.id)
      survivor = keep
    }
  }
  const ordered = [...input.events].sort((a, b) => a.timestamp - b.timestamp)
  for (const event of ordered) {
    const key = clientKey(event.site_id, event.client_session_id)
    let list = byClient.get(key)
    if (!list) {
      list = []
      byClient.set(key, list)
    }
    const session = list.find(
      (s) =>
        event.timestamp >= s.start_time - input.timeoutMs &&
        event.timestamp <= s.end_time + input.timeoutMs,
    )
    if (session) {
      if (!before.has(session.id)) before.set(session.id, { ...session })
      extendSession(session, event)
      sessionOf.set(event, session.id)
      mergeNeighbours(session, list)
    } else {
      const created = startSession(event, input.newId(event.site_id, event.client_session_id))
      list.push(created)
      current.set(created.id, created)
      before.set(created.id, null)
      sessionOf.set(event, created.id)
    }
  }

  const changes: SessionChange[] = []
  for (const [id, previous] of before) {
    const after = current.get(id) ?? null
    // A session this batch both created and merged away never existed for the store.
    if (after || previous) changes.push({ before: previous, after })
  }
  for (const [event, id] of sessionOf) {
    let survivor = id
    while (mergedInto.has(survivor)) survivor = mergedInto.get(survivor) as string
    if (survivor !== id) sessionOf.set(event, survivor)
  }
  return { changes, sessionOf }
}
