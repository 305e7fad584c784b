import { describe } from 'vitest'
import { acceptContract } from './contract/accept.contract.ts'
import type { OpenStore } from './contract/harness.ts'
import { readsContract } from './contract/reads.contract.ts'
import { retentionContract } from './contract/retention.contract.ts'
import { rollupContract } from './contract/rollup.contract.ts'
import { sessionsContract } from './contract/sessions.contract.ts'
import { sitesContract } from './contract/sites.contract.ts'

export type { OpenStore, StoreHarness, StoreOptions } from './contract/harness.ts'

/**
 * The one behaviour every Store must have, by concern (contract/*.contract.ts). Each backend's
 * test file calls this with a factory for a fresh, empty store; nothing here knows which
 * backend it is talking to.
 */
export function describeStoreContract(name: string, open: OpenStore) {
  describe(`Store contract: ${name}`, () => {
    sitesContract(open)
    acceptContract(open)
    rollupContract(open)
    sessionsContract(open)
    readsContract(open)
    retentionContract(open)
  })
}
