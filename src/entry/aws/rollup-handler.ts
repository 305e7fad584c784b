import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda'
import type { Logger } from '../../log/logger.ts'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import { entriesOfStreamRecords } from '../../storage/dynamodb/stream-records.ts'
import { StorageUnavailableError, type Store } from '../../storage/store.ts'

export type RollupHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>

/**
 * The roll-up Lambda: one batch of Events stream records is one roll-up unit. It counts
 * once however it is delivered (storage/dynamodb/README.md, "Counting once"). When storage
 * is unavailable it reports the batch's first record as failed (partial batch response), so
 * Lambda delivers the whole batch again later. Any other failure is thrown: the event source
 * mapping bisects the batch until the record it fails on is alone, and after its retries
 * sends that record to the on-failure queue instead of holding the shard up for good.
 */
export function createRollupHandler(
  store: Store,
  options: RollupOptions,
  logger: Logger,
): RollupHandler {
  return async (event) => {
    const records = event.Records ?? []
    const entries = entriesOfStreamRecords(records)
    try {
      const counted = await rollUpBatch(store, entries, options)
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
