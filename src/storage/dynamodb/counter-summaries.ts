import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { DeltaAccumulator } from '../../core/rollup-deltas.ts'
import type { RollupDelta, RollupKey } from '../../core/types.ts'
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

export function summaryOf(siteId: string, item: Item): Summary {
  const rows = JSON.parse(brotliDecompressSync(item.z as Uint8Array).toString('utf8')) as DeltaRow[]
  return {
    sk: String(item.sk),
    through: Number(item.through ?? 0),
    deltas: rows.map((row) => deltaOfRow(siteId, row)),
  }
}

export class CounterSummaries {
  constructor(
    private readonly c: StoreContext,
    private readonly segments: FoldSegments,
  ) {}

  /** The last window summed in (0: none). */
  async through(siteId: string): Promise<number> {
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: SUMMARY.pk(siteId),
      sk: SUMMARY.through,
    })
    return Number(item?.seq ?? 0)
  }

  /** The summaries with keys in [from, to] (consistent). */
  async read(siteId: string, from: string, to: string): Promise<Summary[]> {
    const items = await this.c.requests.queryAll({
      TableName: this.c.tables.state,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': SUMMARY.pk(siteId), ':from': from, ':to': to },
      ConsistentRead: true,
    })
    return items.map((item) => summaryOf(siteId, item))
  }

  /**
   * Sums the site's windows stored since the last summing into its summaries, as many as
   * one transaction holds. Returns how many windows it took in (0: none waited, or another
   * summing of the site went first).
   */
  async sum(siteId: string): Promise<number> {
    const from = await this.through(siteId)
    const waiting = await this.segments.after(siteId, from)
    const taken: StoredSegment[] = []
    const touched = new Set<string>()
    for (const segment of waiting) {
      const keys = new Set(segment.fold.deltas.deltas().map((d) => SUMMARY.sk(d.key)))
      const more = [...keys].filter((k) => !touched.has(k))
      if (touched.size + more.length > SUMMARIES_PER_SUMMING) break
      for (const k of more) touched.add(k)
      taken.push(segment)
    }
    const last = taken.at(-1)
    if (!last) return 0
    const pk = SUMMARY.pk(siteId)
    // Each touched summary's rows, then the windows' added: the roll-up's own accumulator
    // sums them by row and leaves out rows that net to zero.
    const summaries = new Map<string, DeltaAccumulator>()
    for (const sk of touched) {
      const item = await this.c.requests.getItem(this.c.tables.state, { pk, sk })
      const rows = new DeltaAccumulator()
      for (const { key, counters } of item ? summaryOf(siteId, item).deltas : []) {
        rows.add(key, counters)
      }
      summaries.set(sk, rows)
    }
    for (const segment of taken) {
      for (const { key, counters } of segment.fold.deltas.deltas()) {
        summaries.get(SUMMARY.sk(key))?.add(key, counters)
      }
    }
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
        ...[...summaries].map(([sk, rows]) => ({
          Put: {
            TableName: this.c.tables.state,
            Item: { pk, sk, z: encodeSummary(rows.deltas()), through: last.seq },
          },
        })),
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
}
