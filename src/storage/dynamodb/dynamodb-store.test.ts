import { describeHistoryImportContract } from '../../testing/contract/history-import.contract.ts'
import {
  describeStoreContract,
  type OpenStore,
  type StoreHarness,
} from '../../testing/contract/store.contract.ts'
import { localTables } from '../../testing/dynamodb.ts'

/**
 * The contract suite on AWS's own DynamoDB Local, with units of more than eight writes
 * applied as plans in several transactions, so every roll-up in the suite goes through the
 * plan path and the half-way fault lands between two of its chunks.
 */
const freshDynamoStore: OpenStore = async (contract = {}) => {
  const local = await localTables()
  let fault = false
  const harness: StoreHarness = {
    store: local.store({
      maxTransactItems: 8,
      failRollupWrite: () => (fault ? ((fault = false), true) : false),
      ...(contract.now ? { now: contract.now } : {}),
    }),
    failNextRollupWriteHalfway: () => {
      fault = true
    },
    cleanup: async () => {
      await harness.store.close()
      await local.drop()
    },
  }
  return harness
}

describeStoreContract('dynamodb', freshDynamoStore)
describeHistoryImportContract('dynamodb', freshDynamoStore)
