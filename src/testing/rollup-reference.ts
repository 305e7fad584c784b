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
  return sqliteCountsDelivered(site, [events], bots)
}

/**
 * What the SQLite store counts of events that arrive in these batches, each accepted and
 * rolled up before the next: the reference for deliveries whose order changes an answer
 * (an event older than the counted events of its session moves the session's entry page,
 * and its visitor stays counted under the entry page the session had when first seen).
 */
export async function sqliteCountsDelivered(
  site: Site,
  batches: EnrichedEvent[][],
  bots: BotHit[] = [],
) {
  const dir = tempDir()
  const store = new SqliteStore({ file: join(dir.path, 'reference.db') })
  try {
    await store.createSite(site)
    const options = orderedRollupOptions()
    for (const [i, batch] of batches.entries()) {
      await acceptAndRollUp(store, batch, i === 0 ? bots : [], options)
    }
    return await countsOf(store, scenarioClients(batches.flat()))
  } finally {
    await store.close()
    dir.remove()
  }
}
