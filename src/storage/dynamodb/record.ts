import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { PropValue, SessionState } from '../../core/types.ts'
import type { RecordEvent, RecordReads, RecordSession } from '../../record/session-record.ts'
import type { RecordInput } from '../store.ts'
import { type CopiedSessions, CopyBatches } from './copy-batches.ts'
import { call, storageFault } from './faults.ts'
import { type Item, sessionOf } from './items.ts'
import { STATE } from './keys.ts'
import type { RecordPacks } from './record-packs.ts'
import { inParallel, isConditionFailure, type StoreContext, unstorable } from './requests.ts'
import { INDEX } from './tables.ts'
import { overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * The record on DynamoDB (README.md, "The record"): a session item carries its events,
 * packed in `ev`, written by the roll-up's own session `Put` (no item more per event), and
 * `SiteStartIndex` reads a site's sessions by start time. A session item without `ev` was
 * written before the record: its events are not known (null), and a session that absorbs
 * one stays so.
 */

/** Until a site's longest session is known, a period read reaches back this far. */
const DEFAULT_LONGEST_MS = 24 * 60 * 60_000

/**
 * Packed: `[offset from the session's start, event_id, event_type, path, props?]` per event,
 * as JSON text. Offsets are short numbers; the site, tracker session and visitor are the
 * session's, so no event repeats them.
 */
export type PackedRecordEvent = [number, string, string, string, Record<string, PropValue>?]

export function packRecordEvents(start: number, events: readonly RecordEvent[]): string {
  return JSON.stringify(
    events.map((e): PackedRecordEvent => {
      const packed: PackedRecordEvent = [e.timestamp - start, e.event_id, e.event_type, e.path]
      if (e.props) packed.push(e.props)
      return packed
    }),
  )
}

export function unpackRecordEvents(start: number, text: string): RecordEvent[] {
  return unpackEvents(start, JSON.parse(text) as PackedRecordEvent[])
}

export function unpackEvents(start: number, packed: readonly PackedRecordEvent[]): RecordEvent[] {
  return packed.map(([offset, id, type, path, props]) => ({
    event_id: id,
    timestamp: start + offset,
    event_type: type,
    path,
    props: props ?? null,
  }))
}

/** A session item's events: null when it was written before the record. */
export function recordEventsOf(item: Item): RecordEvent[] | null {
  return typeof item.ev === 'string' ? unpackRecordEvents(Number(item.start_time), item.ev) : null
}

/**
 * The roll-up's side of the record: the site's `record#SITE` item (since, longest). A
 * session's events are the fold's (fold/fold-state.ts).
 */
export class RecordWriter {
  /** The longest session span stored per site, as far as this process knows. */
  private readonly longest = new Map<string, number>()
  /** The earliest recorded event per site, as far as this process knows. */
  private readonly since = new Map<string, number>()

  constructor(private readonly c: StoreContext) {}

  /**
   * Before a unit's write: each site's record item begins (`since`, the earliest event
   * recorded) and learns a longer session (`longest`), so a period read never misses a
   * session written after it. One request per site and process, then only when a session
   * outgrows the longest known or a late event precedes every recorded one: not one per unit.
   */
  async beforeWrite(sessions: readonly SessionState[], record: readonly RecordInput[]) {
    const sites = new Map<string, { earliest: number | null; longest: number }>()
    const siteOf = (id: string) => {
      let site = sites.get(id)
      if (!site) {
        site = { earliest: null, longest: 0 }
        sites.set(id, site)
      }
      return site
    }
    for (const e of record) {
      const site = siteOf(e.site_id)
      site.earliest = Math.min(site.earliest ?? e.timestamp, e.timestamp)
    }
    for (const s of sessions) {
      const site = siteOf(s.site_id)
      site.longest = Math.max(site.longest, s.end_time - s.start_time)
    }
    for (const [siteId, { earliest, longest }] of sites) {
      const Key = { pk: STATE.record(siteId), sk: STATE.one }
      let known = this.longest.get(siteId)
      const since = this.since.get(siteId)
      if (known === undefined || (since === undefined && earliest !== null)) {
        const found = await call('UpdateItem(record)', () =>
          this.c.doc.send(
            new UpdateCommand({
              TableName: this.c.tables.state,
              Key,
              UpdateExpression:
                earliest === null
                  ? 'SET longest = if_not_exists(longest, :l)'
                  : 'SET since = if_not_exists(since, :t), longest = if_not_exists(longest, :l)',
              ExpressionAttributeValues: {
                ':l': longest,
                ...(earliest === null ? {} : { ':t': earliest }),
              },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        )
        known = Number(found.Attributes?.longest ?? longest)
        this.longest.set(siteId, known)
        const stored = found.Attributes?.since
        if (typeof stored === 'number') this.since.set(siteId, stored)
      }
      if (longest > known) {
        await this.raise(Key, 'longest', '<', longest)
        this.longest.set(siteId, longest)
      }
      // A late event older than any recorded: the record holds events from it on.
      const recordedFrom = this.since.get(siteId)
      if (earliest !== null && recordedFrom !== undefined && earliest < recordedFrom) {
        await this.raise(Key, 'since', '>', earliest)
        this.since.set(siteId, earliest)
      }
    }
  }

  /** Sets `field` to `value` where it is still `than` it; another process's as good. */
  private async raise(Key: Item, field: 'longest' | 'since', than: '<' | '>', value: number) {
    try {
      await this.c.doc.send(
        new UpdateCommand({
          TableName: this.c.tables.state,
          Key,
          UpdateExpression: 'SET #f = :v',
          ConditionExpression: `#f ${than} :v`,
          ExpressionAttributeNames: { '#f': field },
          ExpressionAttributeValues: { ':v': value },
        }),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('UpdateItem(record)', error)
    }
  }
}

/**
 * SiteStartIndex is read in this many slices of start time, side by side: a paged `Query` is
 * one page (1 MB) after another, so days of a busy site's sessions (tens of MB) read as one
 * are a long chain of round trips. The slices cost the same units, but for a query's minimum
 * (half a unit) each: a quiet site pays a few units more.
 */
const INDEX_SLICES = 8
/** Shorter slices are not worth their request. */
const MIN_SLICE_MS = 60 * 60_000

/**
 * The copied sessions that start in [lo, hi] and end at or after `from`: the sweep's copy
 * batches from `lo` on (copy-batches.ts), and what SiteStartIndex holds (sessions copied
 * before copies were batched, and imported ones; paged `Query`s of disjoint slices of start
 * time). The unpacked side of a period read, before the windows are laid over it. A caller
 * that reads several ranges passes the batches it read once from the earliest (`copied`).
 */
export async function indexSessionItems(
  c: StoreContext,
  siteId: string,
  lo: number,
  hi: number,
  from: number,
  copied?: Promise<CopiedSessions>,
): Promise<Item[]> {
  const slice = Math.max(MIN_SLICE_MS, Math.ceil((hi - lo + 1) / INDEX_SLICES))
  const slices: Array<[number, number]> = []
  for (let at = lo; at <= hi; at += slice) slices.push([at, Math.min(hi, at + slice - 1)])
  const [read, batched] = await Promise.all([
    inParallel(slices, INDEX_SLICES, ([a, b]) =>
      c.requests.queryAll({
        TableName: c.tables.sessions,
        IndexName: INDEX.sessionsBySiteStart,
        KeyConditionExpression: 'site_id = :s AND start_time BETWEEN :lo AND :hi',
        FilterExpression: 'end_time >= :from',
        ExpressionAttributeValues: { ':s': siteId, ':lo': a, ':hi': b, ':from': from },
      }),
    ),
    copied ?? new CopyBatches(c).from(siteId, lo),
  ])
  return overlaid(read.flat(), batched, () => true).filter((item) => {
    const start = Number(item.start_time)
    return start >= lo && start <= hi && Number(item.end_time) >= from
  })
}

/**
 * The unpacked side of a period read: SiteStartIndex's sessions starting in [lo, hi] that end
 * at or after `from`, laid over with the windows not copied into it yet
 * (uncopied-sessions.ts). An uncopied session that started before `lo` but after the packed
 * days (`packedFrom`) and reaches `from` is taken too: longer than the site's longest known,
 * it is in the period all the same. The index is read before the windows, so a copy it
 * returns is never newer than the windows read after it.
 */
export async function unpackedSessionItems(
  c: StoreContext,
  uncopied: UncopiedSessions,
  siteId: string,
  lo: number,
  hi: number,
  from: number,
  packedFrom: number,
): Promise<Item[]> {
  const items = await indexSessionItems(c, siteId, lo, hi, from)
  const startFrom = Math.min(lo, packedFrom)
  return overlaid(items, await uncopied.of(siteId), (item) => {
    const start = Number(item.start_time)
    return start >= startFrom && start <= hi && Number(item.end_time) >= from
  })
}

/** The site's `record#SITE` item: `since`, `longest`, `packed_to`, `pack_gen`. */
export function recordItem(c: StoreContext, siteId: string): Promise<Item | undefined> {
  return c.requests.getItem(c.tables.state, { pk: STATE.record(siteId), sk: STATE.one })
}

/** Where the site's packed days end: sessions starting from it on are unpacked. */
export function packedFrom(site: Item | undefined): number {
  return typeof site?.packed_to === 'number' ? site.packed_to : Number.NEGATIVE_INFINITY
}

/** Until a site's longest session is known, a period read reaches back this far. */
export function longestOf(site: Item | undefined): number {
  return typeof site?.longest === 'number' ? Math.max(site.longest, 0) : DEFAULT_LONGEST_MS
}

/**
 * RecordReads: a period's sessions from the packed days (record-packs.ts) before the site's
 * `packed_to`, and by one paged `Query` of `SiteStartIndex` from it on. Each session is read
 * from one side only, by its start time: one that spans the edge is read once.
 */
export class DynamoDbRecordReads implements RecordReads {
  constructor(
    private readonly c: StoreContext,
    private readonly packs: RecordPacks,
    private readonly uncopied: UncopiedSessions,
  ) {}

  async recordSessions(siteId: string, from: number, to: number): Promise<RecordSession[]> {
    if (unstorable(siteId)) return []
    const site = await this.site(siteId)
    const lo = from - longestOf(site)
    const packedTo = typeof site?.packed_to === 'number' ? site.packed_to : lo
    const indexFrom = Math.max(lo, packedTo)
    const [packed, items] = await Promise.all([
      this.packs.readPacked(siteId, lo, Math.min(to, packedTo - 1)),
      unpackedSessionItems(this.c, this.uncopied, siteId, indexFrom, to, from, packedFrom(site)),
    ])
    return [
      ...packed.filter((s) => s.end_time >= from),
      ...items.map((item) => ({ ...sessionOf(item), events: recordEventsOf(item) })),
    ].sort((a, b) => a.start_time - b.start_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  async recordSince(siteId: string): Promise<number | null> {
    if (unstorable(siteId)) return null
    const since = (await this.site(siteId))?.since
    return typeof since === 'number' ? since : null
  }

  private site(siteId: string): Promise<Item | undefined> {
    return recordItem(this.c, siteId)
  }
}
