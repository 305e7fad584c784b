import type { MessagePort } from 'node:worker_threads'
import { errorMessage } from '../core/error-message.ts'
import type { Candidates } from './candidate-index.ts'
import type { ColumnarPart } from './columnar-record.ts'
import {
  scanTally,
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
 * tail, small and new per query, comes with each call.
 */
export type ScanCall =
  | {
      op: 'scan'
      id: number
      slot: string
      version: number
      closed: ColumnarPart | null
      tail: ColumnarPart
      specs: TallySpec[]
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
  port.on('message', (call: ScanCall) => {
    if (call.op === 'forget') {
      held.delete(call.slot)
      return
    }
    try {
      if (call.closed) held.set(call.slot, { version: call.version, part: call.closed })
      const closed = held.get(call.slot)
      if (closed?.version !== call.version) {
        throw new Error(`no part ${call.version} of ${call.slot} held`)
      }
      beforeScan()
      const parts = [closed.part, call.tail]
      const tallies = call.specs.map((spec, i) =>
        scanTally(spec, parts, call.share, call.candidates[i] ?? null),
      )
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
