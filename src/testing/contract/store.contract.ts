import { describe } from 'vitest'
import { bulkLoadContract } from './bulk-load.contract.ts'
import { counterReadsContract } from './counter-reads.contract.ts'
import { settingsContract, siteDirectoryContract } from './directory.contract.ts'
import type { OpenStore } from './harness.ts'
import { intakeContract } from './intake.contract.ts'
import { recentEventsContract } from './recent-events.contract.ts'
import { recordReadsContract } from './record-reads.contract.ts'
import { rollupProgressContract, rollupQueueContract } from './rollup-queue.contract.ts'
import { rollupUnitContract } from './rollup-unit.contract.ts'
import { sessionReadsContract } from './session-reads.contract.ts'
import { storageHealthContract } from './storage-health.contract.ts'
import { upkeepContract } from './upkeep.contract.ts'

export type { OpenStore, StoreHarness, StoreOptions } from './harness.ts'

type Suite = (open: OpenStore) => void

/** The roles a backend serving a read-only dashboard plays (store.ts), one suite each. */
const DASHBOARD_SUITES: readonly Suite[] = [
  siteDirectoryContract,
  settingsContract,
  counterReadsContract,
  recentEventsContract,
  storageHealthContract,
]

/** The suites of every other role. */
const OTHER_SUITES: readonly Suite[] = [
  intakeContract,
  rollupQueueContract,
  rollupProgressContract,
  rollupUnitContract,
  sessionReadsContract,
  recordReadsContract,
  bulkLoadContract,
  upkeepContract,
]

/**
 * The one behaviour every Store must have, one suite per role (*.contract.ts here). Each
 * backend's test file calls this with a factory for a fresh, empty store; nothing here knows
 * which backend it is talking to.
 */
export function describeStoreContract(name: string, open: OpenStore) {
  describe(`Store contract: ${name}`, () => {
    for (const suite of [...DASHBOARD_SUITES, ...OTHER_SUITES]) suite(open)
  })
}

/**
 * Only the suites of the roles a read-only dashboard backend plays. The suites still seed
 * what they read through the harness's store (accepts, roll-up writes, sites), so a read-only
 * backend's harness pairs it with the writer whose storage it reads.
 */
export function describeDashboardStoreContract(name: string, open: OpenStore) {
  describe(`Dashboard store contract: ${name}`, () => {
    for (const suite of DASHBOARD_SUITES) suite(open)
  })
}
