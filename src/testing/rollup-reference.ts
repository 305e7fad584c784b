import { join } from 'node:path'
import type { BotHit, EnrichedEvent, Site } from '../core/types.ts'
import type { RollupOptions } from '../rollup/rollup-options.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { acceptAndRollUp } from './accept-and-roll-up.ts'
import { countsOf, scenarioClients } from './rollup-scenario.ts'
import { tempDir } from './temp-dir.ts'

/** Roll-up options with session ids drawn in order, so two stores draw the same ones. */
export function orderedRollupOptions(): RollupOptions {
  let ids = 0
  return { sessionTimeoutMs: 30 * 60_000, newSessionId: () => `s-${++ids}` }
}

/**
 * What the SQLite store counts of these events, both stages at once: the numbers another
 * backend's roll-up must match, however its deliveries go (rollup-scenario.ts' countsOf).
 */
export async function sqliteCounts(site: Site, events: EnrichedEvent[], bots: BotHit[] = []) {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'reference.db') })
  try {
    await store.createSite(site)
    await acceptAndRollUp(store, events, bots, orderedRollupOptions())
    return await countsOf(store, scenarioClients(events))
  } finally {
    await store.close()
    dir.remove()
  }
}
