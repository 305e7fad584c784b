import type { StatsQuery } from '../../core/stats-query.ts'
import { type ColumnarPart, columnarPart, PartBuilder } from '../../record/columnar-record.ts'
import { columnarReport } from '../../record/columnar-report.ts'
import type { FilteredStatsReport } from '../../record/filtered-report.ts'
import { readWindow } from '../../record/period-window.ts'
import { recordReport } from '../../record/record-report.ts'
import type { RecordReads, RecordSession } from '../../record/session-record.ts'
import { type CopiedSessions, CopyBatches } from './copy-batches.ts'
import { type Item, sessionOf } from './items.ts'
import { keepableBefore, lateGenerationOf } from './late-writes.ts'
import { type PackedDayCache, type SiteDays, UNPACKED } from './packed-day-cache.ts'
import { indexSessionItems, longestOf, packedFrom, recordEventsOf, recordItem } from './record.ts'
import { dayStart, decodePack, packGenerationOf, type RecordPacks, utcDay } from './record-packs.ts'
import { inParallel, type StoreContext, unstorable } from './requests.ts'
import { DAY_MS } from './retention.ts'
import { overlaid, type Uncopied, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * The record's report on DynamoDB over columns (README.md, "Packed days"): the period's packed
 * days decoded into columnar parts (kept in memory, packed-day-cache.ts), the unpacked days'
 * sessions from SiteStartIndex as one more part, and columnarReport over them: the report
 * filteredReport computes from the same sessions as objects (record-report.ts), without an
 * object per session of the month for every query.
 *
 * The sessions are those the direct read (record.ts, DynamoDbRecordReads) gives: packed days
 * before `packed_to`, SiteStartIndex from it on, each session from one side by its start.
 * Packed days hold sessions of whole UTC days, some outside the windows: columnarReport
 * counts only the sessions that overlap each window, as the direct read returns them.
 */
export class DynamoDbColumnarReport {
  /** Days being read and decoded, so concurrent queries decode a day once. */
  private readonly reading = new Map<string, Promise<ColumnarPart>>()

  constructor(
    private readonly c: StoreContext,
    private readonly packs: RecordPacks,
    private readonly cache: PackedDayCache,
    private readonly reads: RecordReads,
    private readonly uncopied: UncopiedSessions,
  ) {}

  async report(query: StatsQuery): Promise<FilteredStatsReport> {
    const siteId = query.site_id
    if (unstorable(siteId)) return recordReport(this.reads, query)
    const windows = [query.current, ...(query.previous ? [query.previous] : [])].map((p) =>
      readWindow(p, query.timezone),
    )
    const from = Math.min(...windows.map((w) => w.from))
    const to = Math.max(...windows.map((w) => w.to))
    const site = await recordItem(this.c, siteId)
    const longest = longestOf(site)
    const lo = from - longest
    const packedTo = typeof site?.packed_to === 'number' ? site.packed_to : lo
    const days = this.cache.site(
      siteId,
      query.timezone,
      packGenerationOf(site),
      lateGenerationOf(site),
    )
    // Unpacked: whole slices of start time whose sessions may be kept, then the rest.
    const indexFrom = Math.max(lo, packedTo)
    const keepBefore = keepableBefore(site, this.c.now())
    const slices: number[] = []
    for (let at = sliceStart(indexFrom); at + SLICE_MS <= keepBefore && at <= to; at += SLICE_MS) {
      slices.push(at)
    }
    const tailFrom = slices.length > 0 ? (slices.at(-1) as number) + SLICE_MS : indexFrom
    // The copies first, then the windows not copied yet (record.ts says why); the copy
    // batches read once, from the first slice on, for every slice and the tail.
    const unheld = slices.filter((at) => !days.get(`${UNPACKED}${at}`))
    const copied = new CopyBatches(this.c).from(siteId, unheld[0] ?? tailFrom)
    const [packed, sliceItems, tailItems] = await Promise.all([
      this.packedDays(siteId, days, packedDaysOf(lo, Math.min(to, packedTo - 1))),
      inParallel(slices, 2, (at) => this.sliceItems(days, siteId, at, copied)),
      indexSessionItems(this.c, siteId, tailFrom, to, from, copied),
    ])
    const uncopied = await this.uncopied.of(siteId)
    const kept = slices.map((at, i) =>
      this.unpackedSlice(days, at, sliceItems[i] as Item[] | ColumnarPart, uncopied, keepBefore),
    )
    // The tail: from the slices on, and any uncopied session after the packed days that
    // starts before the slices and reaches the period (longer than the site's longest).
    const unpackedFrom = slices[0] ?? tailFrom
    const before = packedFrom(site)
    const unpacked = overlaid(tailItems, uncopied, (item) => {
      const start = Number(item.start_time)
      if (start > to || Number(item.end_time) < from) return false
      return start >= tailFrom || (start >= before && start < unpackedFrom)
    })
    const tail = columnarPart(days.dicts, unpacked.map(recordSessionOf))
    days.grew()
    const parts = [...packed, ...kept, tail]
    // A session longer than the site's longest known (from before the record): the direct
    // read misses it, and the report must be the direct read's.
    if (windows.some((w) => startsBefore(parts, w.from - longest, w.from))) {
      return recordReport(this.reads, query)
    }
    const since = site?.since
    return columnarReport({
      dicts: days.dicts,
      parts,
      query,
      recordSince: typeof since === 'number' ? since : null,
    })
  }

  /** A held slice's part, or the items SiteStartIndex holds of the slice (the rest). */
  private async sliceItems(
    site: SiteDays,
    siteId: string,
    at: number,
    copied: Promise<CopiedSessions>,
  ): Promise<ColumnarPart | Item[]> {
    return (
      site.get(`${UNPACKED}${at}`) ??
      indexSessionItems(this.c, siteId, at, at + SLICE_MS - 1, 0, copied)
    )
  }

  /**
   * The sessions starting in [at, at + SLICE_MS), SiteStartIndex's laid over with the
   * uncopied windows, whole: kept when every one ended before `keepBefore` (late-writes.ts:
   * no ordinary write reaches them then).
   */
  private unpackedSlice(
    site: SiteDays,
    at: number,
    read: ColumnarPart | Item[],
    uncopied: Uncopied,
    keepBefore: number,
  ): ColumnarPart {
    if (!Array.isArray(read)) return read
    const items = overlaid(read, uncopied, (item) => {
      const start = Number(item.start_time)
      return start >= at && start < at + SLICE_MS
    })
    const part = columnarPart(site.dicts, items.map(recordSessionOf))
    if (items.every((item) => Number(item.end_time) < keepBefore)) {
      site.put(`${UNPACKED}${at}`, part)
    }
    return part
  }

  /** The days' parts: those held, the others read (one request per run of days) and kept. */
  private async packedDays(
    siteId: string,
    site: SiteDays,
    wanted: readonly string[],
  ): Promise<ColumnarPart[]> {
    const parts = new Map<string, ColumnarPart | Promise<ColumnarPart>>()
    const missing: string[] = []
    for (const day of wanted) {
      const held = site.get(day) ?? this.reading.get(readingKey(site, day))
      if (held) parts.set(day, held)
      else missing.push(day)
    }
    if (missing.length > 0) {
      const read = this.packs.readDayParts(siteId, missing)
      for (const day of missing) {
        const key = readingKey(site, day)
        const decoded = read
          .then((byDay) => {
            const part = decodeDay(site, byDay.get(day) ?? [])
            site.put(day, part)
            return part
          })
          .finally(() => this.reading.delete(key))
        this.reading.set(key, decoded)
        parts.set(day, decoded)
      }
    }
    return Promise.all(wanted.map((day) => parts.get(day) as ColumnarPart | Promise<ColumnarPart>))
  }
}

/** Unpacked sessions are kept in slices of this much start time, aligned on UTC midnight. */
const SLICE_MS = 6 * 60 * 60_000

function sliceStart(at: number): number {
  return Math.floor(at / SLICE_MS) * SLICE_MS
}

function recordSessionOf(item: Item): RecordSession {
  return { ...sessionOf(item), events: recordEventsOf(item) }
}

/** Decoding is keyed by the site's dictionaries: a part's numbers are theirs. */
const dictionaryIds = new WeakMap<object, number>()
let nextDictionaryId = 0
function readingKey(site: SiteDays, day: string): string {
  let id = dictionaryIds.get(site.dicts)
  if (id === undefined) dictionaryIds.set(site.dicts, (id = nextDictionaryId++))
  return `${id} ${day}`
}

/** A packed day's parts as one columnar part, in the site's dictionaries. */
function decodeDay(site: SiteDays, parts: readonly Uint8Array[]): ColumnarPart {
  const builder = new PartBuilder(site.dicts)
  for (const z of parts) for (const session of decodePack(z)) builder.add(session)
  return builder.finish()
}

/** The UTC days of sessions starting in [lo, hi] that packs hold (none when hi < lo). */
function packedDaysOf(lo: number, hi: number): string[] {
  const days: string[] = []
  if (hi < lo) return days
  for (let at = dayStart(utcDay(lo)); at <= hi; at += DAY_MS) days.push(utcDay(at))
  return days
}

/** Whether a part holds a session that started before `lo` and had not ended by `from`. */
function startsBefore(parts: readonly ColumnarPart[], lo: number, from: number): boolean {
  for (const part of parts) {
    for (let s = 0; s < part.sessions; s++) {
      if ((part.start[s] as number) < lo && (part.end[s] as number) >= from) return true
    }
  }
  return false
}
