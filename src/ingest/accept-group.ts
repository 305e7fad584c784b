import type { QueuedEntry, Store } from '../storage/store.ts'
import { GroupCommit } from './group-commit.ts'
import type { AcceptRequest } from './writer-protocol.ts'

/**
 * The accept thread's group commit. The HTTP thread posts each turn's requests at once and
 * goes on validating; everything that arrived while the last transaction ran is committed in
 * the next one. So validating and committing overlap, and an event waits in the HTTP thread's
 * memory for one turn of its loop instead of for a commit (its garbage dies young there).
 *
 * Each request resolves with, per event, whether it was new; `handOver` gets the queue entries
 * of each commit (for the roll-up thread) and must not throw: the commit is done by then. A
 * request whose events fail the commit is retried alone, so it fails without failing the
 * requests it was grouped with.
 */
export function acceptGroup(
  store: Store,
  handOver: (queued: QueuedEntry[]) => void,
): GroupCommit<AcceptRequest, boolean[]> {
  return new GroupCommit<AcceptRequest, boolean[]>(
    async (requests) => {
      const { fresh, queued } = await store.accept(
        requests.flatMap((r) => r.events),
        requests.flatMap((r) => r.bots),
      )
      handOver(queued)
      let offset = 0
      return requests.map((request) => {
        const own = fresh.slice(offset, offset + request.events.length)
        offset += request.events.length
        return own
      })
    },
    // About a second of events at most, so one commit never holds the write lock for long.
    {
      maxItems: 5000,
      maxWaitMs: 0,
      sizeOf: (request) => request.events.length + request.bots.length,
    },
  )
}
