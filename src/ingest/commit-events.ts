import {
  addEventContribution,
  addSessionChange,
  addVisitor,
  DeltaAccumulator,
  eventMarks,
  type MarkCandidate,
} from '../core/rollup-deltas.ts'
import { clientKey, sessionize } from '../core/session-rules.ts'
import type { EnrichedEvent } from '../core/types.ts'
import {
  type EventRecord,
  eventKeyString,
  type LiveEvent,
  type SessionLookup,
  type Store,
} from '../storage/store.ts'

/** A bot hit is not stored; it only bumps the site's bot counter. */
export interface BotHit {
  site_id: string
  timezone: string
  timestamp: number
}

export type EventOutcome = 'stored' | 'duplicate'

export interface CommitResult {
  /** Per input event, in input order. */
  outcomes: EventOutcome[]
  /** The newly stored events with their session's attributes, for the live view. */
  stored: LiveEvent[]
}

export interface CommitOptions {
  sessionTimeoutMs: number
  newSessionId: () => string
}

function toRecord(event: EnrichedEvent, sessionId: string): EventRecord {
  return {
    site_id: event.site_id,
    event_id: event.event_id,
    session_id: sessionId,
    timestamp: event.timestamp,
    event_type: event.event_type,
    page_url: event.page_url,
    path: event.path,
    title: event.title,
    referrer: event.referrer,
    user_id: event.user_id,
    visitor_id: event.visitor_id,
    props: event.props,
    engagement_ms: event.engagement_ms,
  }
}

/** Session lookups: one per client session id, spanning the batch's events ± the timeout. */
function lookupsFor(events: readonly EnrichedEvent[], timeoutMs: number): SessionLookup[] {
  const byKey = new Map<string, SessionLookup>()
  for (const e of events) {
    const key = clientKey(e.site_id, e.client_session_id)
    const lookup = byKey.get(key)
    if (lookup) {
      lookup.from = Math.min(lookup.from, e.timestamp - timeoutMs)
      lookup.to = Math.max(lookup.to, e.timestamp + timeoutMs)
    } else {
      byKey.set(key, {
        site_id: e.site_id,
        client_session_id: e.client_session_id,
        from: e.timestamp - timeoutMs,
        to: e.timestamp + timeoutMs,
      })
    }
  }
  return [...byKey.values()]
}

function uniqueMarks(candidates: readonly MarkCandidate[]): MarkCandidate[] {
  const seen = new Set<string>()
  return candidates.filter((c) => {
    const key = `${c.mark.site_id}\u001f${c.mark.day}\u001f${c.mark.scope}\u001f${c.mark.visitor_id}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * The ingest pipeline after validation: drop repeated event ids, assign sessions, turn the
 * changes into counter deltas and visitor marks, and write it all as one unit of work.
 * Returns, per input event, whether it was stored or was a duplicate.
 */
export async function commitEvents(
  store: Store,
  events: readonly EnrichedEvent[],
  bots: readonly BotHit[],
  options: CommitOptions,
): Promise<CommitResult> {
  return store.ingest(async (unit) => {
    const existing = events.length ? await unit.existingEventIds(events) : new Set<string>()
    const seen = new Set<string>()
    const outcomes: EventOutcome[] = []
    const fresh: EnrichedEvent[] = []
    for (const event of events) {
      const key = eventKeyString(event)
      if (existing.has(key) || seen.has(key)) {
        outcomes.push('duplicate')
      } else {
        seen.add(key)
        fresh.push(event)
        outcomes.push('stored')
      }
    }

    const timezoneOf = new Map(fresh.map((e) => [e.site_id, e.timezone]))
    const tz = (siteId: string) => timezoneOf.get(siteId) ?? 'UTC'
    const storedSessions = fresh.length
      ? await unit.sessionsFor(lookupsFor(fresh, options.sessionTimeoutMs))
      : []
    const { changes, sessionOf } = sessionize({
      events: fresh,
      existing: storedSessions,
      timeoutMs: options.sessionTimeoutMs,
      newId: options.newSessionId,
    })

    const sessionById = new Map(changes.map((c) => [c.after.id, c.after]))
    const acc = new DeltaAccumulator()
    const candidates: MarkCandidate[] = []
    for (const { before, after } of changes) {
      addSessionChange(acc, before, after, tz(after.site_id))
    }
    // In time order, so a visitor-day is credited to the session it was really first seen in.
    const inTimeOrder = [...fresh].sort((a, b) => a.timestamp - b.timestamp)
    for (const event of inTimeOrder) {
      addEventContribution(acc, event, event.timezone)
      const session = sessionById.get(sessionOf.get(event) as string)
      candidates.push(...eventMarks(event, event.timezone, session))
    }
    const marks = uniqueMarks(candidates)
    const claimed = marks.length ? await unit.claimMarks(marks.map((c) => c.mark)) : []
    marks.forEach((candidate, i) => {
      if (claimed[i]) addVisitor(acc, candidate)
    })
    for (const bot of bots) acc.addAt(bot, '', '', { bots: 1 })

    await unit.write({
      events: fresh.map((e) => toRecord(e, sessionOf.get(e) as string)),
      sessions: changes.map((c) => c.after),
      deltas: acc.deltas(),
    })
    const stored = fresh.map((e): LiveEvent => {
      const session = sessionById.get(sessionOf.get(e) as string)
      return {
        site_id: e.site_id,
        session_id: session?.id ?? '',
        visitor_id: e.visitor_id,
        timestamp: e.timestamp,
        event_type: e.event_type,
        path: e.path,
        title: e.title,
        source: session?.source ?? e.source,
        country: session?.country ?? e.country,
        device: session?.device ?? e.device,
        browser: session?.browser ?? e.browser,
      }
    })
    return { outcomes, stored }
  })
}
