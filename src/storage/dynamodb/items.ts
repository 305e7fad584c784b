import { SESSION_FIELDS } from '../../core/session-fields.ts'
import type { BotHit, EnrichedEvent, PropValue, SessionState, Site } from '../../core/types.ts'
import { sessionHome } from '../../rollup/session-ids.ts'
import {
  EVENT_RECORD_FIELDS,
  type EventRecord,
  type LiveEvent,
  type QueuedEvent,
  type QueuedItem,
} from '../store.ts'
import { BOT_PARTITIONS, botPartition, clientPartition, timeKey, userKey } from './keys.ts'

/**
 * How domain values become items and back. Decoding picks the domain's fields by name, so
 * what a read returns has exactly the shape the SQLite store returns (the contract compares
 * them with toEqual), whatever bookkeeping attributes the item carries.
 */
export type Item = Record<string, unknown>

const ACQUISITION = [
  'source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
] as const
const CLIENT = ['browser', 'os', 'device', 'country', 'screen'] as const
/**
 * Fields added after items were first written (utm_term, utm_content, screen, the session's
 * hostname and referrer, the event's referrer host): an older item reads them as "", what SQLite's migration gives its older rows, so
 * both stores count such a session under the same rows.
 */
const LATER_FIELDS = [
  'hostname',
  'utm_term',
  'utm_content',
  'screen',
  'referrer',
  'referrer_host',
] as const

/** What the roll-up reads of an event (QueuedEvent), in the queue's field order. */
const QUEUED_FIELDS = [
  'site_id',
  'timezone',
  'event_id',
  'client_session_id',
  'timestamp',
  'event_type',
  'path',
  'host',
  'referrer_host',
  'user_id',
  'visitor_id',
  ...ACQUISITION,
  ...CLIENT,
] as const

const SITE_FIELDS = ['id', 'name', 'domain', 'timezone', 'api_key', 'created_at'] as const

function pick<K extends string>(item: Item, fields: readonly K[]): Record<K, unknown> {
  const out = {} as Record<K, unknown>
  for (const field of fields) out[field] = item[field] ?? null
  return out
}

function withLaterFields<T>(picked: T): T {
  const out = picked as Record<string, unknown>
  for (const field of LATER_FIELDS) if (field in out) out[field] ??= ''
  return picked
}

/** Epoch seconds, as DynamoDB's TTL reads them. */
export function ttlSeconds(epochMs: number): number {
  return Math.ceil(epochMs / 1000)
}

/**
 * When DynamoDB may delete a raw event: a TTL after it happened, but never sooner than a TTL
 * after it arrived (history loaded late), by the real clock DynamoDB deletes by. The sweep deletes
 * by event time, as the SQLite store does; the TTL is the backstop that costs nothing.
 */
function expiresAt(timestamp: number, context: EventItemContext): number {
  return ttlSeconds(Math.max(timestamp, context.acceptedAt, Date.now()) + context.eventTtlMs)
}

export interface EventItemContext {
  acceptedAt: number
  eventTtlMs: number
}

let botSpread = 0
export function botItem(hit: BotHit, context: EventItemContext, id: string): Item {
  botSpread = (botSpread + 1) % BOT_PARTITIONS
  return {
    pk: botPartition(hit.site_id, botSpread),
    sk: `${timeKey(hit.timestamp)}#${id}`,
    kind: 'bot',
    bot_site: hit.site_id,
    timezone: hit.timezone,
    timestamp: hit.timestamp,
    accepted_at: context.acceptedAt,
    ttl: expiresAt(hit.timestamp, context),
  }
}

function parseProps(text: unknown): Record<string, PropValue> | null {
  return typeof text === 'string' ? (JSON.parse(text) as Record<string, PropValue>) : null
}

/** What the roll-up reads of an event a request item holds (request-items.ts). */
export function queuedEventOf(event: EnrichedEvent): QueuedEvent {
  const queued = withLaterFields(
    pick(event as unknown as Item, QUEUED_FIELDS),
  ) as unknown as QueuedEvent
  queued.props = event.props
  return queued
}

/**
 * What waits for the roll-up in an Events item of one event (a stream record's new image): a
 * bot hit, or an event item as the release before request items wrote it.
 */
export function queuedItemOf(item: Item): QueuedItem {
  if (item.kind === 'bot') {
    return {
      kind: 'bot',
      hit: {
        site_id: String(item.bot_site),
        timezone: String(item.timezone),
        timestamp: Number(item.timestamp),
      },
    }
  }
  const event = withLaterFields(pick(item, QUEUED_FIELDS)) as unknown as QueuedEvent
  event.props = parseProps(item.props)
  return { kind: 'event', event }
}

/** A raw event as the timelines read it, from the events of a request item. */
export function eventRecordOf(event: EnrichedEvent): EventRecord {
  return pick(event as unknown as Item, EVENT_RECORD_FIELDS) as unknown as EventRecord
}

export function liveEventOf(item: Item): LiveEvent {
  return {
    site_id: String(item.site_id),
    session_id: String(item.client_session_id),
    visitor_id: String(item.visitor_id),
    timestamp: Number(item.timestamp),
    event_type: String(item.event_type),
    path: String(item.path),
    title: String(item.title ?? ''),
    source: String(item.source ?? ''),
    country: String(item.country ?? ''),
    device: String(item.device ?? ''),
    browser: String(item.browser ?? ''),
  }
}

/**
 * A session's item; `events`, the record's (record.ts), packed into `ev` relative to its
 * start; left out for a session whose events the record does not know.
 */
export function sessionItem(session: SessionState, events?: string): Item {
  const item: Item = {
    pk: clientPartition(session.site_id, session.client_session_id),
    sk: session.id,
    ...session,
  }
  if (events !== undefined) item.ev = events
  if (session.user_id !== null) item.user_key = userKey(session.site_id, session.user_id)
  return item
}

export function sessionOf(item: Item): SessionState {
  return withLaterFields(pick(fromTable(item), SESSION_FIELDS)) as unknown as SessionState
}

/**
 * A session's item as the sweep's copy stores it in the Sessions table: its site under
 * `site`, not `site_id`, so `SiteStartIndex` (keyed on `site_id`) holds no copy of it; the
 * period reads and the packer read the copy's batch instead (copy-batches.ts). And without
 * `id` when the id leads to the item's key (src/rollup/session-ids.ts: a timeline reads the
 * item by its key), so `IdIndex` holds no copy of it either: a write unit saved a visit for
 * each. `fromTable` reads any of these.
 */
export function unindexedItem(item: Item): Item {
  const { site_id, id, ...rest } = item
  const home = sessionHome(String(id))
  const located =
    home !== undefined &&
    home.site_id === site_id &&
    home.client_session_id === item.client_session_id &&
    item.sk === id
  return { ...rest, site: site_id, ...(located ? {} : { id }) }
}

/** A Sessions table item with `site_id` and `id`, however the copy stored them. */
export function fromTable(item: Item): Item {
  if (item.site_id !== undefined && item.id !== undefined) return item
  return {
    ...item,
    site_id: item.site_id ?? item.site,
    id: item.id ?? item.sk,
  }
}

export function siteOf(item: Item): Site {
  return pick(item, SITE_FIELDS) as unknown as Site
}
