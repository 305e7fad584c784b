import type { MessagePort } from 'node:worker_threads'
import { errorMessage } from '../core/error-message.ts'
import type { Candidates } from './candidate-index.ts'
import type { ColumnarPart } from './columnar-record.ts'
import {
  scanTallies,
  type TallyArrays,
  type TallySpec,
  tallyBuffers,
  type VisitorShare,
} from './columnar-report.ts'

/**
 * What the scan pool (scan-pool.ts) and its workers (scan-worker.ts) say to each other.
 *
 * A site's closed part is sent once per version (`closed`, null when this worker has it
 * already) and kept by the worker under the site (`slot`) until a newer version or `forget`
 * replaces it; its columns are shared memory, so sending it copies none of them. The open
 * tail, small and asked again until the roll-up writes, is sent and kept the same way, the
 * last one per site.
 */
export type ScanCall =
  | {
      op: 'scan'
      id: number
      slot: string
      version: number
      closed: ColumnarPart | null
      /** The open tail's version: a tail is asked again by the next queries until it changes … */
      tailVersion: number
      /** … so it is sent once per version too (null: this worker has it). */
      tail: ColumnarPart | null
      /**
       * A tail without sessions (a scan of the closed part alone, day-tallies.ts' builds): used
       * for this call and not held, so the query's tail held stays (not sent and built again).
       */
      tailOnce?: boolean
      specs: TallySpec[]
      /** The specs are days of one filter set, scanned in one pass (`scanDayTallies`). */
      byDay?: boolean
      share: VisitorShare
      /** Per spec: the closed part's groups to read (shared memory, not copied); null: all. */
      candidates: Array<Candidates | null>
    }
  | { op: 'forget'; slot: string }

export type ScanAnswer =
  | { id: number; ok: true; tallies: TallyArrays[] }
  | { id: number; ok: false; message: string }

/**
 * The worker side: keeps the closed parts it is sent, and answers each scan with the tallies
 * of its share of visitors (their arrays handed over, not copied). `beforeScan` is for tests
 * that must hold a scan under way.
 */
export function serveScans(port: MessagePort, beforeScan: () => void = () => undefined): void {
  const held = new Map<string, { version: number; part: ColumnarPart }>()
  // The last tail per slot: kept as the same object, so what is built per part (the
  // visitors' groups) is built once per tail, not per query.
  const tails = new Map<string, { version: number; part: ColumnarPart }>()
  port.on('message', (call: ScanCall) => {
    if (call.op === 'forget') {
      held.delete(call.slot)
      tails.delete(call.slot)
      return
    }
    try {
      if (call.closed) held.set(call.slot, { version: call.version, part: call.closed })
      const closed = held.get(call.slot)
      if (closed?.version !== call.version) {
        throw new Error(`no part ${call.version} of ${call.slot} held`)
      }
      if (call.tail && !call.tailOnce) {
        tails.set(call.slot, { version: call.tailVersion, part: call.tail })
      }
      const tail =
        call.tailOnce && call.tail
          ? { version: call.tailVersion, part: call.tail }
          : tails.get(call.slot)
      if (tail?.version !== call.tailVersion) {
        throw new Error(`no tail ${call.tailVersion} of ${call.slot} held`)
      }
      beforeScan()
      const parts = [closed.part, tail.part]
      const tallies = scanTallies(call.specs, parts, call.share, call.candidates, call.byDay)
      port.postMessage(
        { id: call.id, ok: true, tallies } satisfies ScanAnswer,
        tallies.flatMap(tallyBuffers),
      )
    } catch (error) {
      port.postMessage({
        id: call.id,
        ok: false,
        message: errorMessage(error),
      } satisfies ScanAnswer)
    }
  })
}
