import type { BotHit, EnrichedEvent } from '../../core/types.ts'
import type { QueuedItem } from '../store.ts'
import { type PackedItem, unpackItem } from './packed-item.ts'

/**
 * The raw event row, and the queue items it is read back with. An accepted event waits in
 * the queue packed (packed-item.ts): the fields the roll-up reads, in one JSON text per accept
 * that is also the hand-over to the roll-up thread, so it is written once. Before that, a
 * queue item held only the key of the event's row plus the few fields the row lacks, and was
 * joined back with the row (writing the whole event as keyed JSON as well had cost more than
 * the row itself); such items are still read.
 */

/** Columns of `events`, in the order of the positional insert. */
export const EVENT_COLUMNS = [
  'site_id',
  'event_id',
  'client_session_id',
  'timestamp',
  'event_type',
  'page_url',
  'path',
  'title',
  'referrer',
  'user_id',
  'visitor_id',
  'props',
  'engagement_ms',
  'source',
  'country',
  'device',
  'browser',
] as const satisfies readonly (keyof EnrichedEvent)[]

type EventColumn = (typeof EVENT_COLUMNS)[number]

/** A raw event's row; one already stored (same site, time and event_id) is left as is. */
export const INSERT_EVENT_SQL = `INSERT OR IGNORE INTO events (${EVENT_COLUMNS.join(', ')})
  VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`

/** Everything else an enriched event carries: the queue row's `extra`. */
const EXTRA_FIELDS = [
  'timezone',
  'host',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'os',
] as const satisfies readonly Exclude<keyof EnrichedEvent, EventColumn>[]

type ExtraField = (typeof EXTRA_FIELDS)[number]
// Compile-time: a field added to EnrichedEvent must be stored in one place or the other.
const complete: [Exclude<keyof EnrichedEvent, EventColumn | ExtraField>] extends [never]
  ? true
  : false = true
void complete

/** Values for `INSERT INTO events (EVENT_COLUMNS…) VALUES (?…)`. */
export function eventRowValues(e: EnrichedEvent): unknown[] {
  return [
    e.site_id,
    e.event_id,
    e.client_session_id,
    e.timestamp,
    e.event_type,
    e.page_url,
    e.path,
    e.title,
    e.referrer,
    e.user_id,
    e.visitor_id,
    e.props ? JSON.stringify(e.props) : null,
    e.engagement_ms,
    e.source,
    e.country,
    e.device,
    e.browser,
  ]
}

/** An event's row in `events`: site, time and event_id. */
export type EventKey = readonly [site_id: string, timestamp: number, event_id: string]

/**
 * One item of a queue batch (`ingest_batch.items`, a JSON array of these):
 * - a `PackedItem` (`['r', …]` an event, `['h', …]` a bot hit; packed-item.ts): what the
 *   accept writes since the queue row became the roll-up's hand-over text;
 * - `['e', site_id, timestamp, event_id, ...EXTRA_FIELDS]`: an event written before that,
 *   joined back with its row;
 * - `['b', hit]`: a bot hit written before that;
 * - `['k', site_id, timestamp, event_id, {extra}]` and `['p', item]`: entries of the per-item
 *   queue before v10 (keyed event, whole item);
 * - `null`: an item moved to the dead letters.
 */
export type BatchItem =
  | PackedItem
  | ['e', string, number, string, ...string[]]
  | ['b', BotHit]
  | ['k', string, number, string, Partial<Record<ExtraField, string>>]
  | ['p', QueuedItem]
  | null

/** The key of the event row a batch item needs, if it needs one. */
export function eventKeyOf(item: Exclude<BatchItem, null>): EventKey | undefined {
  return item[0] === 'e' || item[0] === 'k' ? [item[1], item[2], item[3]] : undefined
}

/** A row of `events` as stored (props as JSON). */
export type StoredEventRow = Record<EventColumn, unknown> & { props: string | null }

/**
 * The queued item a batch item stands for; `row` is its event's row when it names one.
 * @throws when an event's row is missing (only a sweep removes rows, and it spares queued ones)
 */
export function queuedItemOf(
  item: Exclude<BatchItem, null>,
  row: StoredEventRow | undefined,
  seq: number,
): QueuedItem {
  switch (item[0]) {
    case 'r':
    case 'h':
      return unpackItem(item)
    case 'b':
      return { kind: 'bot', hit: item[1] }
    case 'p':
      return item[1]
    case 'e':
    case 'k': {
      if (!row) throw new Error(`SqliteStore: queued event ${seq} has no stored event row`)
      const event: Record<string, unknown> = {}
      if (item[0] === 'k') Object.assign(event, item[4])
      else for (const [i, field] of EXTRA_FIELDS.entries()) event[field] = item[4 + i]
      for (const column of EVENT_COLUMNS) event[column] = row[column]
      event.props = row.props ? JSON.parse(row.props) : null
      return { kind: 'event', event: event as unknown as EnrichedEvent }
    }
  }
}
