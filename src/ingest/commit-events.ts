import { clientKey, sessionize } from '../core/session-rules.ts'
import type { BotHit, EnrichedEvent, RollupEvent } from '../core/types.ts'
import type { SessionLookup, Store } from '../storage/store.ts'
import { HotQueue } from './hot-queue.ts'
import { unitDeltas } from './unit-deltas.ts'

export type { BotHit }

export interface RollupOptions {
  sessionTimeoutMs: number
  newSessionId: () => string
}

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

/**
 * Stage 2, off the request path: takes up to `limit` accepted items from the queue, assigns
 * sessions, turns the changes into counter deltas and visitor marks, and writes it all as one
 * unit of work that also retires those queue entries. Returns how many items it took.
 */
export async function rollUpQueued(
  store: Store,
  options: RollupOptions,
  limit = 2000,
  hot?: HotQueue,
): Promise<number> {
  return store.ingest(async (unit) => {
    const queued =
      (hot && hot.size > 0 ? hot.take(await unit.queueHead(), limit) : null) ??
      (await unit.queued(limit))
    const last = queued.at(-1)
    if (!last) return 0
    const events: RollupEvent[] = []
    const bots: BotHit[] = []
    for (const { item } of queued) {
      if (item.kind === 'event') events.push(item.event)
      else bots.push(item.hit)
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
      processedThrough: last.seq,
    })
    return queued.length
  })
}

export type EventOutcome = 'stored' | 'duplicate'

/**
 * Both stages at once: accept, then roll up until the queue is empty. For loaders and tests
 * that want the counters settled when the call returns.
 */
export async function commitEvents(
  store: Store,
  events: readonly EnrichedEvent[],
  bots: readonly BotHit[],
  options: RollupOptions,
): Promise<{ outcomes: EventOutcome[] }> {
  const { fresh, queued } = await store.accept(events, bots)
  const hot = new HotQueue(queued.length)
  hot.push(queued)
  // One slice for the whole batch: a loader's 50,000 events become one roll-up commit.
  const slice = Math.max(2000, events.length + bots.length)
  while ((await rollUpQueued(store, options, slice, hot)) > 0) {}
  return { outcomes: fresh.map((isNew) => (isNew ? 'stored' : 'duplicate')) }
}
