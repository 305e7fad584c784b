import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda'
import pRetry, { AbortError } from 'p-retry'
import { errorMessage } from '../../core/error-message.ts'
import type { Logger } from '../../log/logger.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import type { RollupLagRecorder } from '../../storage/dynamodb/dynamodb-store.ts'
import type { Backoff } from '../../storage/dynamodb/faults.ts'
import { positionOf } from '../../storage/dynamodb/keys.ts'
import { readStreamRecord } from '../../storage/dynamodb/stream-records.ts'
import { type RollupEntry, type RollupQueue, StorageUnavailableError } from '../../storage/store.ts'

export type RollupHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>

/**
 * How long a batch is retried inside one invocation while storage is unavailable (throttled,
 * a transaction conflict): about six seconds at most, well inside the function's timeout.
 */
const DEFAULT_RETRY: Backoff = { retries: 5, minTimeout: 100, maxTimeout: 3000 }
/** Tries of a record alone, on a failure of its own, before it is set aside. */
const TRIES_ALONE = 3
/** The log line a CloudWatch metric filter counts (infra/terraform/monitoring.tf). */
export const SET_ASIDE_LOG = 'roll-up: record set aside'

/**
 * A record of the batch, or one entry of it (a request item holds an entry per event), with
 * what the roll-up reads of it (none: not one to count), or why it cannot be read.
 */
interface Part {
  record: DynamoDBRecord
  entries: RollupEntry[]
  unreadable?: unknown
}

/** Storage stayed unavailable from part `from` on: the parts before it are done. */
class UnavailableFrom extends Error {
  constructor(
    readonly from: number,
    override readonly cause: StorageUnavailableError,
  ) {
    super(cause.message)
  }
}

/**
 * The roll-up Lambda: one batch of Events stream records is one roll-up unit. It counts
 * once however it is delivered (storage/dynamodb/README.md, "Counting once").
 *
 * While storage is unavailable for now (throttling; a transaction another shard held up) the
 * batch is rolled up again in this invocation, with backoff: a redo counts as a redelivery
 * does. If it stays unavailable, the first record not counted yet is reported failed
 * (partial batch response), and Lambda delivers the batch again from there.
 *
 * A failure of the batch's own (a record that cannot be counted) is found here, not left to
 * the event source mapping's bisection, retries and on-failure destination (which receives
 * metadata only from SQS, and would stall the shard meanwhile): the batch is cut in halves,
 * in order, down to the record that fails (the event, of a request item's), which is tried
 * again alone and then set aside whole in the dead letters (RollupQueue.deadLetter). The counters then miss it, and
 * `/api/stats` and the dashboard say so (RollupProgress.setAside).
 */
export function createRollupHandler(
  store: RollupQueue,
  options: RollupOptions,
  logger: Logger,
  faults: { retry?: Backoff; now?: () => number; lag?: RollupLagRecorder } = {},
): RollupHandler {
  const retry = faults.retry ?? DEFAULT_RETRY
  const now = faults.now ?? Date.now

  /** Rolls the entries up, retrying while storage is unavailable. */
  const countWithRetries = (entries: RollupEntry[]) =>
    pRetry(
      async () => {
        try {
          return await rollUpBatch(store, entries, options)
        } catch (error) {
          if (error instanceof StorageUnavailableError) throw error
          throw new AbortError(error as Error)
        }
      },
      {
        ...retry,
        randomize: true,
        onFailedAttempt: (error) =>
          logger.warn({ err: error, attempt: error.attemptNumber }, 'roll-up batch: storage busy'),
      },
    )

  /** Counts parts [from, to), or finds in them, by halves, the records that cannot be. */
  const countOrSetAside = async (parts: Part[], from: number, to: number): Promise<void> => {
    let failure: unknown
    for (let tries = 0; tries < (to - from === 1 ? TRIES_ALONE : 1); tries++) {
      try {
        const entries: RollupEntry[] = []
        for (const part of parts.slice(from, to)) {
          if (part.unreadable !== undefined) throw part.unreadable
          entries.push(...part.entries)
        }
        await countWithRetries(entries)
        return
      } catch (error) {
        if (error instanceof StorageUnavailableError) throw new UnavailableFrom(from, error)
        failure = error
      }
    }
    if (to - from > 1) {
      const half = from + Math.ceil((to - from) / 2)
      await countOrSetAside(parts, from, half)
      await countOrSetAside(parts, half, to)
      return
    }
    await setAside(parts[from] as Part, failure)
  }

  const setAside = async (part: Part, failure: unknown) => {
    const sequence = part.record.dynamodb?.SequenceNumber ?? ''
    const reason = errorMessage(failure)
    const kept: Array<RollupEntry | { stream: string; position: string }> =
      part.entries.length > 0
        ? part.entries
        : [
            {
              stream: String(part.record.dynamodb?.Keys?.pk?.S ?? ''),
              position: positionOf(sequence || '0'),
            },
          ]
    for (const entry of kept) {
      try {
        await store.deadLetter(entry, reason, now())
      } catch (error) {
        if (error instanceof StorageUnavailableError) {
          throw new UnavailableFrom(-1, error)
        }
        throw error
      }
    }
    logger.error({ err: failure, sequence, reason }, SET_ASIDE_LOG)
  }

  /**
   * The newest event the batch counted, from which `/api/stats` reads the lag (rollup-lag.ts).
   * Best effort: a lost write only leaves the previous batch's figure, so it never fails the
   * batch.
   */
  const recordLag = async (records: DynamoDBRecord[]) => {
    if (!faults.lag) return
    let newest = Number.NEGATIVE_INFINITY
    for (const record of records) {
      // A request item's latest event (request-items.ts), or a bot hit's time.
      const image = record.dynamodb?.NewImage
      const at = Number(image?.max?.N ?? image?.timestamp?.N)
      if (at > newest) newest = at
    }
    if (!Number.isFinite(newest)) return
    try {
      await faults.lag.recordRollupLag(newest)
    } catch (error) {
      logger.warn({ err: error }, 'roll-up: lag not recorded')
    }
  }

  return async (event) => {
    const records = event.Records ?? []
    // A part per entry: a request item's events are counted, and set aside, one by one.
    const parts = records.flatMap((record): Part[] => {
      const read = readStreamRecord(record)
      if (read.unreadable !== undefined || read.entries.length < 2) return [{ record, ...read }]
      return read.entries.map((entry) => ({ record, entries: [entry] }))
    })
    try {
      await countOrSetAside(parts, 0, parts.length)
      logger.debug({ records: records.length }, 'roll-up batch')
      await recordLag(records)
      return { batchItemFailures: [] }
    } catch (error) {
      if (!(error instanceof UnavailableFrom)) throw error
      // From the first record not done (a set-aside that could not be written: the batch's);
      // its entries counted already are skipped when it comes again.
      const from = error.from >= 0 ? records.indexOf((parts[error.from] as Part).record) : 0
      const first = records.slice(Math.max(0, from)).find((r) => r.dynamodb?.SequenceNumber)
        ?.dynamodb?.SequenceNumber
      logger.error(
        { err: error.cause, records: records.length, from: first },
        'roll-up batch failed; it is delivered again',
      )
      return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] }
    }
  }
}
