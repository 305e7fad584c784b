import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { DeltaAccumulator } from '../../core/rollup-deltas.ts'
import type { RollupDelta, RollupKey } from '../../core/types.ts'
import { StorageUnavailableError } from '../store.ts'
import { type DeltaRow, deltaOfRow, deltaRow } from './delta-rows.ts'
import type { FoldSegments, StoredSegment } from './fold-segments.ts'
import type { Item } from './items.ts'
import { STATE } from './keys.ts'
import { cancellationCodes, isConditionFailure, type StoreContext } from './requests.ts'

/**
 * A site's counters summed out of its folded windows (issue 23): one State-table item per
 * grain and day (`fsum#SITE` / `d#YYYY-MM-DD` for the day rows of a site-local day,
 * `h#YYYY-MM-DD` for the hour rows of a UTC day), each holding every row of that day
 * compressed, and `through`, the last window summed into it. `fsum#SITE` / `through` holds
 * the last window any summing took in.
 *
 * Windows are never rewritten (fold-segments.ts), so a summary is a sum of windows 1..N and
 * summing again is exact: the sweep adds the windows after `through` into the summaries
 * they touch and moves every `through` on, all in one transaction that holds only while
 * `through` is still what it read. A reader takes each summary with its own `through`, and
 * a window's row only where the window is newer than it (FoldedCounterReads): so a
 * summing that lands between a reader's requests is never counted twice or missed.
 */

export const SUMMARY = {
  pk: STATE.counterSummaries,
  through: 'through',
  /** The summary a row belongs to. */
  sk: (key: Pick<RollupKey, 'grain' | 'bucket'>) => {
    if (key.grain === 'day') return `d#${key.bucket}`
    const at = new Date(Number(key.bucket) * 3_600_000)
    // A range open at either end (a check for any counted hour) reads every day's.
    if (Number.isNaN(at.getTime())) return Number(key.bucket) < 0 ? 'h#' : 'h#\uffff'
    return `h#${at.toISOString().slice(0, 10)}`
  },
}

/** A transaction holds 100 items: the `through` item and at most this many summaries. */
const SUMMARIES_PER_SUMMING = 99
/**
 * TransactWriteItems takes at most 100 actions and 4 MB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html):
 * a summing whose parts pass either takes fewer windows in.
 */
const TRANSACTION_ITEMS = 100
const TRANSACTION_BYTES = 4_000_000
/**
 * An item holds at most 400 KB, names and values together
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items):
 * a summary's compressed rows past this many bytes are cut into parts (a busy site's day of
 * pages, referrers and campaigns), each row in the part its key hashes to, so a row stays in
 * one part from one summing to the next.
 */
export const SUMMARY_PART_BYTES = 350_000

export interface Summary {
  sk: string
  through: number
  deltas: RollupDelta[]
}

export function encodeSummary(deltas: readonly RollupDelta[]): Buffer {
  return brotliCompressSync(JSON.stringify(deltas.map(deltaRow)), {
    params: { [constants.BROTLI_PARAM_QUALITY]: 5 },
  })
}

/** A part of a summary: `d#DAY` is part 0 (and a summary of one part), `d#DAY#N` part N. */
const partSk = (sk: string, part: number) => (part === 0 ? sk : `${sk}#${part}`)
/** The summary a part's key belongs to: day keys are of fixed length, `h#` / `d#` and a date. */
const summarySk = (sk: string) => sk.slice(0, 12)

/** A part of a summary read as the summary's: its rows and its `through`. */
export function summaryOf(siteId: string, item: Item): Summary {
  const rows = JSON.parse(brotliDecompressSync(item.z as Uint8Array).toString('utf8')) as DeltaRow[]
  return {
    sk: summarySk(String(item.sk)),
    through: Number(item.through ?? 0),
    deltas: rows.map((row) => deltaOfRow(siteId, row)),
  }
}

/** FNV-1a of a row's key: which part of its summary a row goes in. */
function partOf(delta: RollupDelta, parts: number): number {
  if (parts === 1) return 0
  const { key } = delta
  const text = `${key.grain}\0${key.bucket}\0${key.dim}\0${key.value}`
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % parts
}

/**
 * A summary's rows as the items that store it: one part, or as many as keep each part under
 * `partBytes`, and never fewer than `atLeast` (the parts stored before: each is written again,
 * so none keeps rows that moved). Every part carries `parts`.
 */
export function summaryItems(
  siteId: string,
  sk: string,
  deltas: readonly RollupDelta[],
  through: number,
  atLeast = 1,
  partBytes = SUMMARY_PART_BYTES,
): Item[] {
  for (let parts = Math.max(1, atLeast); ; parts *= 2) {
    const split: RollupDelta[][] = Array.from({ length: parts }, () => [])
    for (const delta of deltas) split[partOf(delta, parts)]?.push(delta)
    const encoded = split.map(encodeSummary)
    // One row alone past the bound cannot be cut further; the put then fails loudly.
    if (encoded.every((z) => z.byteLength <= partBytes) || parts >= deltas.length) {
      return encoded.map((z, part) => ({
        pk: SUMMARY.pk(siteId),
        sk: partSk(sk, part),
        z,
        through,
        ...(parts > 1 ? { parts } : {}),
      }))
    }
  }
}

const partsOf = (item: Item | undefined) => (typeof item?.parts === 'number' ? item.parts : 1)

/** Reads of a summary whose parts are of two summings before one gives up. */
const READ_ATTEMPTS = 5

/** Whether each summary's parts are all there and all of one summing. */
function partsAgree(items: readonly Item[]): boolean {
  const summaries = new Map<string, { through: unknown; parts: number; seen: number }>()
  for (const item of items) {
    const sk = summarySk(String(item.sk))
    const seen = summaries.get(sk)
    if (!seen) summaries.set(sk, { through: item.through, parts: partsOf(item), seen: 1 })
    else if (seen.through !== item.through || seen.parts !== partsOf(item)) return false
    else seen.seen++
  }
  return [...summaries.values()].every((s) => s.seen === s.parts)
}

export class CounterSummaries {
  constructor(
    private readonly c: StoreContext,
    private readonly segments: FoldSegments,
    private readonly partBytes = SUMMARY_PART_BYTES,
  ) {}

  /** The last window summed in (0: none). */
  async through(siteId: string): Promise<number> {
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: SUMMARY.pk(siteId),
      sk: SUMMARY.through,
    })
    return Number(item?.seq ?? 0)
  }

  /**
   * The summaries with keys in [from, to], their parts included (consistent). A query reads
   * each item as one write left it, not a transaction's items all at once
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation):
   * parts of one summary from two summings (their `through` differs, or a part is missing)
   * are read again, until they are of one.
   */
  async read(siteId: string, from: string, to: string): Promise<Summary[]> {
    for (let attempt = 1; ; attempt++) {
      const items = await this.c.requests.queryAll({
        TableName: this.c.tables.state,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': SUMMARY.pk(siteId),
          ':from': from,
          ':to': `${to}#\uffff`,
        },
        ConsistentRead: true,
      })
      if (partsAgree(items) || attempt >= READ_ATTEMPTS) {
        if (!partsAgree(items)) {
          throw new StorageUnavailableError(
            `CounterSummaries.read(${siteId}): parts of one summary from two summings ${READ_ATTEMPTS} times`,
          )
        }
        return items.map((item) => summaryOf(siteId, item))
      }
      // A transaction's writes land within milliseconds of each other.
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt))
    }
  }

  /**
   * Sums the site's windows stored since the last summing into its summaries, as many as
   * one transaction holds. Returns how many windows it took in (0: none waited, or another
   * summing of the site went first).
   */
  async sum(siteId: string): Promise<number> {
    const from = await this.through(siteId)
    const waiting = await this.segments.after(siteId, from)
    let taken: StoredSegment[] = []
    const touched = new Set<string>()
    for (const segment of waiting) {
      const keys = new Set(segment.fold.deltas.deltas().map((d) => SUMMARY.sk(d.key)))
      const more = [...keys].filter((k) => !touched.has(k))
      if (touched.size + more.length > SUMMARIES_PER_SUMMING) break
      for (const k of more) touched.add(k)
      taken.push(segment)
    }
    if (taken.length === 0) return 0
    const pk = SUMMARY.pk(siteId)
    // Each touched summary's rows (all its parts), then the windows' added: the roll-up's own
    // accumulator sums them by row and leaves out rows that net to zero.
    const stored = new Map<string, { rows: RollupDelta[]; parts: number }>()
    for (const sk of touched) {
      const parts = await this.c.requests.queryAll({
        TableName: this.c.tables.state,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': pk, ':sk': sk },
        ConsistentRead: true,
      })
      stored.set(sk, {
        rows: parts.flatMap((item) => summaryOf(siteId, item).deltas),
        parts: Math.max(1, parts.length, ...parts.map(partsOf)),
      })
    }
    let items: Item[]
    for (;;) {
      const last = taken.at(-1) as StoredSegment
      items = this.itemsOf(siteId, stored, taken, last.seq)
      const bytes = items.reduce((sum, item) => sum + (item.z as Buffer).byteLength + 100, 0)
      if ((items.length < TRANSACTION_ITEMS && bytes <= TRANSACTION_BYTES) || taken.length === 1) {
        break
      }
      // Too much for one transaction: fewer windows now, the rest at the next summing.
      taken = taken.slice(0, Math.ceil(taken.length / 2))
    }
    const last = taken.at(-1) as StoredSegment
    try {
      await this.c.requests.transact('TransactWriteItems(counter summaries)', [
        {
          Put: {
            TableName: this.c.tables.state,
            Item: { pk, sk: SUMMARY.through, seq: last.seq },
            ConditionExpression: from === 0 ? 'attribute_not_exists(pk)' : 'seq = :from',
            ...(from === 0 ? {} : { ExpressionAttributeValues: { ':from': from } }),
          },
        },
        ...items.map((Item) => ({ Put: { TableName: this.c.tables.state, Item } })),
      ])
    } catch (error) {
      // Another summing of the site moved `through` on first: it took these windows in.
      if (isConditionFailure(error) || cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') {
        return 0
      }
      throw error
    }
    return taken.length
  }

  /** The items of the summaries `taken` touches: what they held, plus the windows' rows. */
  private itemsOf(
    siteId: string,
    stored: ReadonlyMap<string, { rows: RollupDelta[]; parts: number }>,
    taken: readonly StoredSegment[],
    through: number,
  ): Item[] {
    const summaries = new Map<string, DeltaAccumulator>()
    const touchedBy = (sk: string) => {
      let rows = summaries.get(sk)
      if (!rows) {
        rows = new DeltaAccumulator()
        for (const { key, counters } of stored.get(sk)?.rows ?? []) rows.add(key, counters)
        summaries.set(sk, rows)
      }
      return rows
    }
    for (const segment of taken) {
      for (const { key, counters } of segment.fold.deltas.deltas()) {
        touchedBy(SUMMARY.sk(key)).add(key, counters)
      }
    }
    return [...summaries].flatMap(([sk, rows]) =>
      summaryItems(siteId, sk, rows.deltas(), through, stored.get(sk)?.parts, this.partBytes),
    )
  }
}
