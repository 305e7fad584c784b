import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda'
import pRetry, { AbortError } from 'p-retry'
import type { Logger } from '../../log/logger.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import type { Backoff } from '../../storage/dynamodb/faults.ts'
import { entriesOfStreamRecords } from '../../storage/dynamodb/stream-records.ts'
import { type RollupQueue, StorageUnavailableError } from '../../storage/store.ts'

export type RollupHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>

/**
 * How long a batch is retried inside one invocation while storage is unavailable (throttled,
 * a transaction conflict): about six seconds at most, well inside the function's timeout.
 */
const DEFAULT_RETRY: Backoff = { retries: 5, minTimeout: 100, maxTimeout: 3000 }

/**
 * The roll-up Lambda: one batch of Events stream records is one roll-up unit. It counts
 * once however it is delivered (storage/dynamodb/README.md, "Counting once").
 *
 * While storage is unavailable for now (throttling; a transaction another shard's held up)
 * the batch is rolled up again in this invocation, with backoff: a redo counts as a
 * redelivery does, and the event source mapping's retries, which end in its on-failure
 * destination, stay for records that really cannot be counted. If it still fails, the
 * batch's first record is reported failed (partial batch response), so Lambda delivers the
 * whole batch again later. Any other failure is thrown: the event source mapping bisects the
 * batch until the record it fails on is alone, and after its retries sends that record to the
 * on-failure destination instead of holding the shard up for good.
 */
export function createRollupHandler(
  store: RollupQueue,
  options: RollupOptions,
  logger: Logger,
  faults: { retry?: Backoff } = {},
): RollupHandler {
  const retry = faults.retry ?? DEFAULT_RETRY
  return async (event) => {
    const records = event.Records ?? []
    const entries = entriesOfStreamRecords(records)
    try {
      const counted = await pRetry(
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
            logger.warn(
              { err: error, attempt: error.attemptNumber },
              'roll-up batch: storage busy',
            ),
        },
      )
      logger.debug({ records: records.length, counted }, 'roll-up batch')
      return { batchItemFailures: [] }
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) {
        logger.error({ err: error, records: records.length }, 'roll-up batch failed')
        throw error
      }
      const first = records.find((r) => r.dynamodb?.SequenceNumber)?.dynamodb?.SequenceNumber
      logger.error(
        { err: error, records: records.length, from: first },
        'roll-up batch failed; it is delivered again',
      )
      return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] }
    }
  }
}
