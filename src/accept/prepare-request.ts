import { randomUUID } from 'node:crypto'
import { localDay } from '../core/calendar.ts'
import { type EventInput, parseEventInput } from '../core/parse-event.ts'
import type { BotHit, EnrichedEvent, Site } from '../core/types.ts'
import { enrichEvent, type RequestContext } from './enrich-event.ts'
import type { SaltCache } from './salt-cache.ts'

/** At most this many events per request (docs/design.md, HTTP contract). */
export const MAX_EVENTS = 100

export interface Rejection {
  index: number
  message: string
}

/** One POST /api/events as the HTTP side hands it on: the body as received. */
export interface AcceptRequest {
  site: Site
  /** The body text (at most 64 KiB, checked by the HTTP thread). */
  body: string
  request: RequestContext
  /** When the request arrived, on the server clock: the far-future check counts from here. */
  receivedAt: number
}

/** A request ready to store, or why its body as a whole is refused (a 400). */
type PreparedRequest =
  | { ok: true; events: EnrichedEvent[]; bots: BotHit[]; rejected: Rejection[]; valid: number }
  | { ok: false; message: string }

/**
 * Accepts `{"events":[…]}`, a bare array, or one bare event object (the original plan's
 * minimal snippet posts a single `{"type":…,"url":…}`).
 */
function eventsOf(body: unknown): unknown[] | string {
  if (Array.isArray(body)) return body
  if (typeof body === 'object' && body !== null) {
    if (!('events' in body)) return [body]
    const events = (body as { events: unknown }).events
    return Array.isArray(events) ? events : 'events must be an array'
  }
  return 'body must be a JSON object with an "events" array'
}

/**
 * Parses a request's body, validates each event on its own and enriches the valid ones:
 * everything between the bytes received and the rows to insert. It runs in the accept stage,
 * so the HTTP side only moves text (in the embedded server, posting each event as an object
 * to the accept worker cost more than the parse it saved on the HTTP thread).
 */
export class RequestPreparer {
  constructor(private readonly salts: SaltCache) {}

  /** Synchronous unless a day's salt has not been read yet (once a day per time zone). */
  prepare(request: AcceptRequest): PreparedRequest | Promise<PreparedRequest> {
    let body: unknown
    try {
      body = JSON.parse(request.body)
    } catch {
      return { ok: false, message: 'body is not valid JSON' }
    }
    const raw = eventsOf(body)
    if (typeof raw === 'string') return { ok: false, message: raw }
    if (raw.length === 0) return { ok: false, message: 'events must hold at least 1 event' }
    if (raw.length > MAX_EVENTS) {
      return { ok: false, message: `events must hold at most ${MAX_EVENTS} events` }
    }
    const rejected: Rejection[] = []
    const valid: EventInput[] = []
    for (const [index, event] of raw.entries()) {
      const parsed = parseEventInput(event, request.receivedAt)
      if (parsed.ok) valid.push(parsed.event)
      else rejected.push({ index, message: parsed.message })
    }
    const dayOf = valid.map((event) => localDay(event.timestamp, request.site.timezone))
    const salts = new Map<string, string>()
    const unknownDays: string[] = []
    for (const day of new Set(dayOf)) {
      const salt = this.salts.known(day)
      if (salt === undefined) unknownDays.push(day)
      else salts.set(day, salt)
    }
    if (unknownDays.length === 0) return enrich(request, valid, dayOf, salts, rejected)
    return Promise.all(unknownDays.map((day) => this.salts.saltFor(day))).then((read) => {
      for (const [i, day] of unknownDays.entries()) salts.set(day, read[i] as string)
      return enrich(request, valid, dayOf, salts, rejected)
    })
  }
}

/**
 * Enriches every event without yielding: an await per event let concurrent requests
 * interleave, which also defeated visitorId's once-per-batch hash.
 */
function enrich(
  { site, request }: AcceptRequest,
  valid: readonly EventInput[],
  dayOf: readonly string[],
  salts: ReadonlyMap<string, string>,
  rejected: Rejection[],
): PreparedRequest {
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
  return { ok: true, events, bots, rejected, valid: valid.length }
}
