import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../core/error-message.ts'
import { ACTIVE_SESSION_MS, LiveWindow } from '../live/live-window.ts'
import { createLogger } from '../log/logger.ts'
import { type PackedBatch, packBatch } from '../storage/packed-item.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { acceptGroup, acceptRequest } from './accept-group.ts'
import { rollupOptions } from './event-writer.ts'
import { HotQueue, type Pushed } from './hot-queue.ts'
import { RequestPreparer } from './prepare-request.ts'
import { RollupStage } from './rollup-stage.ts'
import { SaltCache } from './salt-cache.ts'
import type { WriterAnswer, WriterCall, WriterResults, WriterSetup } from './writer-protocol.ts'

/** How often the roll-up looks at the queue even when no accept woke it. */
const SAFETY_POKE_MS = 5000

/**
 * A writer thread of the embedded server, with its own connection to the SQLite file. The
 * `accept` thread parses, validates, enriches and commits each request's events and keeps the
 * live window they feed; the `rollup` thread turns them into sessions and counters and
 * sweeps. Each holds SQLite's write lock only while it writes, so neither waits long for the
 * other, and the thread answering HTTP waits for neither.
 */
const port = parentPort
if (!port) throw new Error('writer-worker: must run as a worker thread')
const setup = workerData as WriterSetup
const logger = createLogger(setup.logLevel).child({ thread: setup.role })
// The roll-up commits without waiting for the disk (synchronous NORMAL; WAL keeps each commit
// atomic). Its transaction both writes the counters and retires their queue entries, so one
// lost to a power cut is simply rolled up again from the queue, which the accept thread's
// fsync had made durable; and each accept's fsync also makes every earlier roll-up commit in
// the log durable. Batches measured 3% faster in interleaved runs (17,598 / 18,723 events/s
// against 16,999 / 18,166).
const synchronous = setup.role === 'rollup' ? 'NORMAL' : setup.synchronous
const store = new SqliteStore({ file: setup.file, synchronous })
const hot = new HotQueue()
const rollups =
  setup.role === 'rollup'
    ? new RollupStage(store, rollupOptions(setup.sessionTimeoutMs), logger, { hot })
    : undefined
/** accept: where committed queue entries go. rollup: where they come from. */
let handoff: MessagePort | undefined
const accepting = acceptGroup(store, ({ queued, packed }) => {
  if (!handoff) return
  try {
    // The queue row's own text when the store wrote one (packed-item.ts).
    const chunk = packed ?? packBatch(queued)
    if (chunk) handoff.postMessage(chunk)
  } catch (error) {
    // Committed already: the roll-up finds these entries in the queue table instead.
    logger.error({ err: error }, 'hand-over to the roll-up failed')
  }
})
const preparer = new RequestPreparer(new SaltCache(store))

/**
 * accept: the live window (live-view.ts), on the HTTP thread's clock: each call carries its
 * time. Rebuilt from the stored events of the last half hour at the first call, so a restart
 * (of the server or of this thread) keeps the live view; if that read fails the window starts
 * empty, as accepts must not fail for the live view's sake.
 */
let liveNow = Date.now()
const live = new LiveWindow(() => liveNow)
let liveSeeded: Promise<LiveWindow> | undefined
function liveAt(now: number): Promise<LiveWindow> {
  liveNow = now
  liveSeeded ??= store
    .liveEventsSince(now - ACTIVE_SESSION_MS)
    .then(
      (events) => live.add(events),
      (error: unknown) =>
        logger.error(
          { err: error },
          'live view: reading the last half hour failed; it starts empty',
        ),
    )
    .then(() => live)
  return liveSeeded
}
// Whatever a previous run accepted but did not roll up yet (a crash, a restart).
rollups?.poke()
// Accepts wake the roll-up through the hand-over channel; this catches anything accepted while
// no channel was connected (a thread restarting), at the cost of one empty query when idle.
if (rollups) setInterval(() => rollups.poke(), SAFETY_POKE_MS).unref()

/**
 * rollup: entries left to the queue table since memory last took them. The roll-up reads
 * them back from there, which costs a little more and means it is behind, so an operator is
 * told when that starts and when it ends, once each.
 */
let leftToTable = 0
function noteBehind(pushed: Pushed, count: number): void {
  if (pushed !== 'held') {
    if (leftToTable === 0) {
      logger.warn(
        { reason: pushed, held: hot.size },
        'roll-up behind: new entries are read back from the queue table until it catches up',
      )
    }
    leftToTable += count
  } else if (leftToTable > 0) {
    logger.info({ entries: leftToTable }, 'roll-up caught up: entries are taken from memory again')
    leftToTable = 0
  }
}

function rollupsOf(op: string): RollupStage {
  if (!rollups) throw new Error(`writer-worker: ${op} sent to the ${setup.role} thread`)
  return rollups
}

async function answer(call: WriterCall): Promise<WriterResults[keyof WriterResults]> {
  switch (call.op) {
    case 'accept': {
      const last = call.requests.at(-1)
      const window = await liveAt(last ? last.receivedAt : liveNow)
      return Promise.all(
        call.requests.map(async (request) => {
          const outcome = await acceptRequest(request, preparer, accepting, window)
          if ('error' in outcome)
            logger.error({ site: request.site.id, ...outcome }, 'accept failed')
          return outcome
        }),
      )
    }
    case 'live':
      return (await liveAt(call.now)).snapshot(call.siteId)
    case 'handoff':
      handoff?.close()
      handoff = call.port
      if (rollups) {
        const stage = rollups
        handoff.on('message', (chunk: PackedBatch) => {
          noteBehind(hot.pushChunk(chunk), chunk.count)
          stage.poke()
        })
      }
      return undefined
    case 'settle':
      await rollupsOf(call.op).settle()
      return undefined
    case 'sweep':
      return store.sweep(call.policy)
    case 'close':
      await accepting.drain()
      if (rollups) {
        await rollups.settle()
        rollups.close()
      }
      await store.close()
      return undefined
  }
}

port.on('message', (call: WriterCall) => {
  answer(call).then(
    (value) => port.postMessage({ id: call.id, ok: true, value } satisfies WriterAnswer),
    (error: unknown) => {
      logger.error({ err: error, op: call.op }, 'writer call failed')
      port.postMessage({
        id: call.id,
        ok: false,
        message: errorMessage(error),
      } satisfies WriterAnswer)
    },
  )
})
