import { clientKey, sessionize } from '../core/session-rules.ts'
import { laterPosition } from '../core/stream-position.ts'
import type { BotHit, RollupEvent } from '../core/types.ts'
import {
  type QueuedEvent,
  type RollupEntry,
  type RollupQueue,
  type SessionLookup,
  type StreamPosition,
  UnitTooWideError,
} from '../storage/store.ts'
import type { RollupOptions } from './rollup-options.ts'
import { unitDeltas } from './unit-deltas.ts'

/** Session lookups: one per client session id, spanning the batch's events ± the timeout. */
function lookupsFor(events: readonly RollupEvent[], timeoutMs: number): SessionLookup[] {
  const byKey = new Map<string, SessionLookup>()
  for (const e of events) {
    const key = clientKey(e.site_id, e.client_session_id)
    const lookup = byKey.get(key)
    if (lookup) {
      lookup.from = Math.min(lookup.from, e.timestamp - timeoutMs)
      lookup.to = Math.max(lookup.to, e.timestamp + timeoutMs)
    } else {
      byKey.set(key, {
        site_id: e.site_id,
        client_session_id: e.client_session_id,
        from: e.timestamp - timeoutMs,
        to: e.timestamp + timeoutMs,
      })
    }
  }
  return [...byKey.values()]
}

/** The last position of each stream the entries come from. */
function lastPositions(entries: readonly RollupEntry[]): StreamPosition[] {
  const last = new Map<string, string>()
  for (const { stream, position } of entries) {
    last.set(stream, laterPosition(last.get(stream), position))
  }
  return [...last].map(([stream, position]) => ({ stream, position }))
}

/**
 * The roll-up of one batch, whoever delivers it: assigns sessions, turns the changes into
 * counter deltas and visitor marks, and writes it all as one unit that also records how far
 * each of the batch's streams is rolled up. The batch may come pulled (`rollUpPending`, from
 * the store's own queue) or pushed (a Lambda handed stream records); entries at or before a
 * stream's recorded position were counted already (a redelivered or split batch) and are
 * skipped, so a batch is counted once however often it arrives. Returns how many entries it
 * counted.
 */
export async function rollUpBatch(
  store: Pick<RollupQueue, 'rollup'>,
  entries: readonly RollupEntry[],
  options: RollupOptions,
): Promise<number> {
  if (entries.length === 0) return 0
  try {
    return await rollUpUnit(store, entries, options)
  } catch (error) {
    if (!(error instanceof UnitTooWideError) || entries.length < 2) throw error
    // Nothing of the unit was written: count it in halves, in order.
    const half = Math.ceil(entries.length / 2)
    const first = await rollUpBatch(store, entries.slice(0, half), options)
    return first + (await rollUpBatch(store, entries.slice(half), options))
  }
}

async function rollUpUnit(
  store: Pick<RollupQueue, 'rollup'>,
  entries: readonly RollupEntry[],
  options: RollupOptions,
): Promise<number> {
  return store.rollup(async (unit) => {
    const through = lastPositions(entries)
    const events: QueuedEvent[] = []
    const bots: BotHit[] = []
    for (const { item } of await unit.uncounted(entries)) {
      if (item.kind === 'event') events.push(item.event)
      else bots.push(item.hit)
    }
    const counted = events.length + bots.length
    if (counted === 0) {
      // Counted before (a redelivery, or a unit another run finished): the positions are
      // still recorded, so a queue that reads past them does not hand them over again.
      await unit.write({ sessions: [], deltas: [], through })
      return 0
    }

    const timezoneOf = new Map(events.map((e) => [e.site_id, e.timezone]))
    const tz = (siteId: string) => timezoneOf.get(siteId) ?? 'UTC'
    const storedSessions = events.length
      ? await unit.sessionsFor(lookupsFor(events, options.sessionTimeoutMs))
      : []
    const { changes, sessionOf } = sessionize({
      events,
      existing: storedSessions,
      timeoutMs: options.sessionTimeoutMs,
      newId: options.newSessionId,
    })

    const kept = changes.flatMap((c) => (c.after ? [c.after] : []))
    const sessionById = new Map(kept.map((s) => [s.id, s]))
    // unitDeltas claims visitor marks in this order, which must be time order.
    const inTimeOrder = [...events].sort((a, b) => a.timestamp - b.timestamp)
    const deltas = await unitDeltas(unit, {
      changes: changes.map(({ before, after }) => ({
        before,
        after,
        timezone: tz((after ?? before)?.site_id ?? ''),
      })),
      events: inTimeOrder.map((event) => ({
        event,
        session: sessionById.get(sessionOf.get(event) as string),
      })),
      bots,
    })

    await unit.write({
      sessions: kept,
      // Sessions a late event joined to an earlier one of the same client.
      removedSessions: changes.flatMap((c) => (!c.after && c.before ? [c.before.id] : [])),
      deltas,
      // In the order counted: the record keeps events of the same millisecond so.
      record: inTimeOrder,
      through,
    })
    return counted
  })
}

/**
 * The pulled source: rolls up the store's oldest pending items, at most `limit`. Returns how
 * many it took from the store (0 when nothing waits).
 */
export async function rollUpPending(
  store: RollupQueue,
  options: RollupOptions,
  limit: number,
): Promise<number> {
  const entries = await store.pending(limit)
  await rollUpBatch(store, entries, options)
  return entries.length
}
