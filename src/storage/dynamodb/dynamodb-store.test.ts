import { describeHistoryImportContract } from '../../testing/contract/history-import.contract.ts'
import {
  describeStoreContract,
  type OpenStore,
  type StoreHarness,
} from '../../testing/contract/store.contract.ts'
import { localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient, throttledWrites } from '../../testing/dynamodb-faults.ts'

/**
 * The contract suite on AWS's own DynamoDB Local, with units of more than eight writes
 * applied as plans in several transactions, so every roll-up in the suite goes through the
 * plan path and the half-way fault lands between two of its chunks.
 */
const freshDynamoStore: OpenStore = async (contract = {}) => {
  const local = await localTables()
  let fault = false
  // Writes through a client that can refuse them (throttled) for the storage-fault tests.
  const faulty = contract.storageFaults ? forwardingDocClient(local) : undefined
  const harness: StoreHarness = {
    store: local.store({
      maxTransactItems: 8,
      failRollupWrite: () => (fault ? ((fault = false), true) : false),
      ...(contract.now ? { now: contract.now } : {}),
      ...(faulty ? { doc: faulty.doc, backoff: { retries: 1, minTimeout: 1, maxTimeout: 5 } } : {}),
    }),
    failNextRollupWriteHalfway: () => {
      fault = true
    },
    cleanup: async () => {
      await harness.store.close()
      faulty?.mock.restore()
      await local.drop()
    },
  }
  if (faulty) harness.storageFault = throttledWrites(local, faulty.mock)
  return harness
}

describeStoreContract('dynamodb', freshDynamoStore)
describeHistoryImportContract('dynamodb', freshDynamoStore)
