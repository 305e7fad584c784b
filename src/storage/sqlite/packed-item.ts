import type { QueuedEvent, QueuedItem } from '../store.ts'

/** A queued item and its place in the SQLite queue; seqs only grow, never reused. */
export interface QueuedEntry {
  seq: number
  item: QueuedItem
}

/**
 * An accepted item as it waits for the roll-up: a positional array, one JSON text per accept
 * commit. The same text is the SQLite queue row and the store's hand-over to its roll-up
 * (Store.takeHandover, hot-queue.ts), so an accept writes it once; arrays rather than keyed objects halve
 * it. An event carries what the roll-up reads (`QueuedEvent`), so reading the queue back
 * needs no join with the event rows.
 *
 * Both directions are written out field by field, not looped over a list of names: a loop of
 * keyed stores and reads costs about twice as much (bench/NOTES.md), and with literals every
 * event gets one shape, so the roll-up's reads of it stay monomorphic. `unpackEvent` returns a `QueuedEvent` literal, so a field
 * added to the type fails to compile until it is packed; the round-trip test with every field
 * distinct catches two fields swapped.
 */
export type PackedEvent = [
  'r',
  event_id: QueuedEvent['event_id'],
  site_id: QueuedEvent['site_id'],
  timezone: QueuedEvent['timezone'],
  client_session_id: QueuedEvent['client_session_id'],
  timestamp: QueuedEvent['timestamp'],
  event_type: QueuedEvent['event_type'],
  path: QueuedEvent['path'],
  user_id: QueuedEvent['user_id'],
  visitor_id: QueuedEvent['visitor_id'],
  source: QueuedEvent['source'],
  channel: QueuedEvent['channel'],
  utm_source: QueuedEvent['utm_source'],
  utm_medium: QueuedEvent['utm_medium'],
  utm_campaign: QueuedEvent['utm_campaign'],
  browser: QueuedEvent['browser'],
  os: QueuedEvent['os'],
  device: QueuedEvent['device'],
  country: QueuedEvent['country'],
  // Added by schema version 103: a row queued by an earlier build ends before them.
  host?: QueuedEvent['host'],
  utm_term?: QueuedEvent['utm_term'],
  utm_content?: QueuedEvent['utm_content'],
  screen?: QueuedEvent['screen'],
  // Added by schema version 104.
  referrer_host?: QueuedEvent['referrer_host'],
  // Added by schema version 105, for the record: a row of an earlier build reads null.
  props?: QueuedEvent['props'],
]

/** A bot hit: only counted. */
export type PackedHit = ['h', site_id: string, timezone: string, timestamp: number]

export type PackedItem = PackedEvent | PackedHit

/** One accept commit's items: consecutive seqs from `first`, as JSON text of `PackedItem[]`. */
export interface PackedBatch {
  first: number
  count: number
  text: string
}

function packEvent(e: QueuedEvent): PackedEvent {
  return [
    'r',
    e.event_id,
    e.site_id,
    e.timezone,
    e.client_session_id,
    e.timestamp,
    e.event_type,
    e.path,
    e.user_id,
    e.visitor_id,
    e.source,
    e.channel,
    e.utm_source,
    e.utm_medium,
    e.utm_campaign,
    e.browser,
    e.os,
    e.device,
    e.country,
    e.host,
    e.utm_term,
    e.utm_content,
    e.screen,
    e.referrer_host,
    e.props,
  ]
}

function unpackEvent(p: PackedEvent): QueuedEvent {
  return {
    event_id: p[1],
    site_id: p[2],
    timezone: p[3],
    client_session_id: p[4],
    timestamp: p[5],
    event_type: p[6],
    path: p[7],
    user_id: p[8],
    visitor_id: p[9],
    source: p[10],
    channel: p[11],
    utm_source: p[12],
    utm_medium: p[13],
    utm_campaign: p[14],
    browser: p[15],
    os: p[16],
    device: p[17],
    country: p[18],
    host: p[19] ?? '',
    utm_term: p[20] ?? '',
    utm_content: p[21] ?? '',
    screen: p[22] ?? '',
    referrer_host: p[23] ?? '',
    props: p[24] ?? null,
  }
}

function packItem(item: QueuedItem): PackedItem {
  if (item.kind === 'event') return packEvent(item.event)
  return ['h', item.hit.site_id, item.hit.timezone, item.hit.timestamp]
}

export function unpackItem(packed: PackedItem): QueuedItem {
  if (packed[0] === 'h') {
    const [, site_id, timezone, timestamp] = packed
    return { kind: 'bot', hit: { site_id, timezone, timestamp } }
  }
  return { kind: 'event', event: unpackEvent(packed) }
}

/** Packs one commit's entries (consecutive seqs, as `store.accept` returns them). */
export function packBatch(entries: readonly QueuedEntry[]): PackedBatch | undefined {
  const first = entries[0]
  if (!first) return undefined
  const text = JSON.stringify(entries.map(({ item }) => packItem(item)))
  return { first: first.seq, count: entries.length, text }
}

/** The entries of a packed batch, seq by seq. */
export function unpackBatch(batch: PackedBatch): QueuedEntry[] {
  const packed = JSON.parse(batch.text) as PackedItem[]
  return packed.map((item, i) => ({ seq: batch.first + i, item: unpackItem(item) }))
}
