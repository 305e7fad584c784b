import { STATE } from './keys.ts'
import type { StoreContext } from './requests.ts'

/**
 * Raw events before this time (epoch ms) are forgotten: the mark the sweep moves instead of
 * deleting them (upkeep.ts), 0 before any sweep. Reads of raw events skip what is before it.
 */
export async function eventsForgottenBefore(c: StoreContext): Promise<number> {
  const sweep = await c.requests.getItem(c.tables.state, { pk: STATE.sweepPk, sk: STATE.one })
  const from = sweep?.events_from
  return typeof from === 'number' ? from : 0
}
