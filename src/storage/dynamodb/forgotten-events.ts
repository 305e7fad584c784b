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

/**
 * Hourly dimension rows before this epoch hour are forgotten (the sweep's `hourly_from`;
 * -Infinity before any sweep): the roll-up makes none, and counter reads leave them out.
 */
export async function hourlyDimensionsFrom(c: StoreContext): Promise<number> {
  const sweep = await c.requests.getItem(c.tables.state, { pk: STATE.sweepPk, sk: STATE.one })
  const from = sweep?.hourly_from
  return typeof from === 'number' ? from : Number.NEGATIVE_INFINITY
}
