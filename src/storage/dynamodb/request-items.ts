import { createHash } from 'node:crypto'
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import type { EnrichedEvent } from '../../core/types.ts'
import { type Item, ttlSeconds } from './items.ts'
import { requestPartition, timeKey } from './keys.ts'

/**
 * A collector request's events as one Events item (README.md, "The Events table"): one write
 * unit for a request of up to 1 KB, where an item per event and its index copy billed two
 * per event.
 *
 * - `pk`: the site's request partition (keys.ts `requestPartition`).
 * - `sk`: `time#id`, the time of the request's latest event and an id drawn from its events'
 *   identities in order, so the same request sent again has the same key and is refused.
 * - `ev`: the events, brotli-compressed JSON, each an array of EVENT_FIELDS' values.
 * - `n` events; `min` and `max` their earliest and latest times; `cs` their tracker session
 *   when they all share one (what a timeline's read filters on); `accepted_at`; `ttl`.
 */

/**
 * How much later than one of its events an item's latest event can be: every writer cuts a
 * request whose events spread wider into several items (requestItems). A read of the events
 * of [from, to] reads the items keyed from `from` to `to + REQUEST_SPAN_MS`, so the bound is
 * what a timeline reads past a visit's end: a tracker's request spans its queue's seconds (a
 * tab that was offline, minutes), while a request of the collector's whole range (events up
 * to a day old, a backfill through the API) would have every timeline read a day of the
 * site's requests. Cut, such a request costs a write unit per item instead of one in all.
 */
export const REQUEST_SPAN_MS = 10 * 60_000

/** Events an item holds at most: what one collector request may carry. */
export const REQUEST_MAX_EVENTS = 100

/**
 * An event's fields in the packed form, the site's id left out (it is the partition's). Never
 * reordered: a field added later goes last, and older items read it as null.
 */
const EVENT_FIELDS = [
  'timezone',
  'event_id',
  'client_session_id',
  'timestamp',
  'event_type',
  'page_url',
  'path',
  'host',
  'title',
  'referrer',
  'referrer_host',
  'user_id',
  'visitor_id',
  'props',
  'engagement_ms',
  'source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'browser',
  'os',
  'device',
  'country',
  'screen',
] as const satisfies ReadonlyArray<Exclude<keyof EnrichedEvent, 'site_id'>>

/** Fields an older item may lack that read as "" (items.ts: LATER_FIELDS), not null. */
const TEXT_FIELDS = new Set<string>([
  'host',
  'title',
  'referrer',
  'referrer_host',
  'utm_term',
  'utm_content',
  'screen',
])

export interface RequestItemContext {
  acceptedAt: number
  eventTtlMs: number
  /** Imported history: counted already, so the stream's roll-up must skip it. */
  imported?: boolean
}

/** An event's identity: what counts it once (the roll-up's origin) and finds its duplicates. */
export function eventIdentity(
  event: Pick<EnrichedEvent, 'site_id' | 'client_session_id' | 'timestamp' | 'event_id'>,
): string {
  return `${event.site_id}\u0000${event.client_session_id}\u0000${event.timestamp}\u0000${event.event_id}`
}

/**
 * The items of `events` (given in order, duplicates taken out already), with the indexes of
 * the events each holds: one per site, cut where it would pass REQUEST_MAX_EVENTS or span more
 * than REQUEST_SPAN_MS. One collector request is one item; the same events in the same order
 * make the same items, keys included.
 */
export function requestItems(
  events: readonly EnrichedEvent[],
  context: RequestItemContext,
): Array<{ item: Item; indexes: number[] }> {
  const runs: number[][] = []
  const open = new Map<string, { run: number[]; min: number; max: number }>()
  events.forEach((event, index) => {
    const current = open.get(event.site_id)
    if (
      current &&
      current.run.length < REQUEST_MAX_EVENTS &&
      Math.max(current.max, event.timestamp) - Math.min(current.min, event.timestamp) <=
        REQUEST_SPAN_MS
    ) {
      current.run.push(index)
      current.min = Math.min(current.min, event.timestamp)
      current.max = Math.max(current.max, event.timestamp)
      return
    }
    const run = [index]
    runs.push(run)
    open.set(event.site_id, { run, min: event.timestamp, max: event.timestamp })
  })
  return runs.map((indexes) => ({
    item: requestItem(
      indexes.map((i) => events[i] as EnrichedEvent),
      context,
    ),
    indexes,
  }))
}

/** One item of events of one site (requestItems keeps them to its limits). */
export function requestItem(events: readonly EnrichedEvent[], context: RequestItemContext): Item {
  const first = events[0]
  if (!first) throw new Error('request item: no events')
  let min = first.timestamp
  let max = first.timestamp
  const id = createHash('sha256')
  for (const event of events) {
    min = Math.min(min, event.timestamp)
    max = Math.max(max, event.timestamp)
    id.update(`${event.client_session_id}\u0000${event.timestamp}\u0000${event.event_id}\u0001`)
  }
  const packed = JSON.stringify(events.map((event) => EVENT_FIELDS.map((f) => event[f] ?? null)))
  const item: Item = {
    pk: requestPartition(first.site_id),
    // 96 bits of the hash: a different request under the same millisecond and key is
    // a chance of one in 2^96.
    sk: `${timeKey(max)}#${id.digest('base64url').slice(0, 16)}`,
    ev: brotliCompressSync(packed, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 6,
        [constants.BROTLI_PARAM_SIZE_HINT]: packed.length,
      },
    }),
    n: events.length,
    min,
    max,
    accepted_at: context.acceptedAt,
    // A TTL after its latest event, never sooner than a TTL after it arrived (history loaded
    // late), by the real clock DynamoDB deletes by: never a test's clock.
    ttl: ttlSeconds(Math.max(max, context.acceptedAt, Date.now()) + context.eventTtlMs),
  }
  if (events.every((event) => event.client_session_id === first.client_session_id)) {
    item.cs = first.client_session_id
  }
  if (context.imported) item.imported = true
  return item
}

/**
 * The packed events' bytes: binary as the SDK reads it, or base64 text, as a Lambda's stream
 * event carries a binary attribute
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, the sample event's `B` values).
 */
function packedBytes(ev: unknown): Uint8Array | undefined {
  if (ev instanceof Uint8Array) return ev
  if (typeof ev === 'string') return Buffer.from(ev, 'base64')
  return undefined
}

/** Whether an Events item is a request's (not a bot hit, nor an event item of an older release). */
export function isRequestItem(item: Item): boolean {
  return packedBytes(item.ev) !== undefined
}

/** The site a request item belongs to: its partition key up to the first `#`. */
export function requestSite(item: Item): string {
  const pk = String(item.pk)
  return pk.slice(0, pk.indexOf('#'))
}

/** A request item's events, in the order the request sent them. */
export function requestEvents(item: Item): EnrichedEvent[] {
  const site_id = requestSite(item)
  const bytes = packedBytes(item.ev)
  if (!bytes) throw new Error(`request item ${String(item.sk)}: no packed events`)
  const rows = JSON.parse(brotliDecompressSync(bytes).toString('utf8')) as unknown[][]
  return rows.map((row) => {
    const event: Record<string, unknown> = { site_id }
    EVENT_FIELDS.forEach((field, i) => {
      const value = row[i]
      event[field] =
        value === undefined || value === null ? (TEXT_FIELDS.has(field) ? '' : null) : value
    })
    return event as unknown as EnrichedEvent
  })
}

/**
 * The events of request items, in the items' order, each once: an event that came again in
 * another request is stored in both (the collector does not read to find it), and readers
 * show it once. Items that are not a request's (bot hits, event items of an older release)
 * hold none. `seen` (identities) carries over from a reader's earlier pages.
 */
export function* distinctRequestEvents(
  items: Iterable<Item>,
  seen = new Set<string>(),
): Generator<EnrichedEvent> {
  for (const item of items) {
    if (!isRequestItem(item)) continue
    for (const event of requestEvents(item)) {
      const id = eventIdentity(event)
      if (seen.has(id)) continue
      seen.add(id)
      yield event
    }
  }
}

/**
 * Items of imported history (a history import, `move:aws`): marked `imported`, so the
 * stream's roll-up skips them, and packed by tracker session in time order, so a timeline's
 * read filters them by `cs`.
 */
export function importedItems(
  events: readonly EnrichedEvent[],
  acceptedAt: number,
  eventTtlMs: number,
): Item[] {
  const bySession = new Map<string, EnrichedEvent[]>()
  const seen = new Set<string>()
  for (const event of events) {
    const id = eventIdentity(event)
    if (seen.has(id)) continue
    seen.add(id)
    const key = `${event.site_id}\u0000${event.client_session_id}`
    const list = bySession.get(key)
    if (list) list.push(event)
    else bySession.set(key, [event])
  }
  const context = { acceptedAt, eventTtlMs, imported: true }
  return [...bySession.values()].flatMap((list) =>
    requestItems(
      list.sort((a, b) => a.timestamp - b.timestamp),
      context,
    ).map(({ item }) => item),
  )
}
