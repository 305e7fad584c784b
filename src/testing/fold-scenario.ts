import { hourBucket } from '../core/calendar.ts'
import { ROW_DIMENSIONS } from '../core/rollup-deltas.ts'
import type { BotHit, EnrichedEvent, RollupDelta } from '../core/types.ts'
import { FoldState } from '../fold/fold-state.ts'
import { foldedRows } from '../fold/folded-counters.ts'
import type { SiteFold } from '../fold/site-fold.ts'
import { rollUpBatch } from '../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../rollup/rollup-options.ts'
import type { FoldSegments } from '../storage/dynamodb/fold-segments.ts'
import { FoldWriter, type StoredWindow } from '../storage/dynamodb/fold-writer.ts'
import type { RollupEntry } from '../storage/store.ts'
import { SCENARIO_DAY } from './rollup-scenario.ts'

/**
 * The roll-up scenario (rollup-scenario.ts) as the fold meets it, and what its stored windows
 * say, in the shape `countsOf` gives for a Store, so both compare with the SQLite store's.
 */

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)
const TIMEOUT = 30 * 60_000

/** Entries as the fold's source hands them over: each with its stored item's key. */
export function entriesOf(
  events: readonly EnrichedEvent[],
  bots: readonly BotHit[],
): RollupEntry[] {
  const entries: RollupEntry[] = events.map((event, i) => ({
    stream: 'requests',
    position: String(i),
    item: { kind: 'event', event },
    origin: {
      partition: `${event.site_id}#${event.client_session_id}`,
      id: `${event.timestamp}#${event.event_id}`,
    },
  }))
  bots.forEach((hit, i) =>
    entries.push({
      stream: 'requests',
      position: String(events.length + i),
      item: { kind: 'bot', hit },
      origin: { partition: `${hit.site_id}#~bot`, id: `${hit.timestamp}#${i}` },
    }),
  )
  return entries
}

/** What readers of the folded windows see, in the shape `countsOf` gives for a Store. */
export function foldedCounts(folds: readonly SiteFold[], clients: readonly string[]) {
  const deltas: RollupDelta[] = folds.flatMap((fold) => fold.deltas.deltas())
  const range = { site_id: 'site-a', from: SCENARIO_DAY, to: SCENARIO_DAY }
  const days = ROW_DIMENSIONS.map((dim) => foldedRows(deltas, { grain: 'day', dim, ...range }))
  const hours = foldedRows(deltas, {
    grain: 'hour',
    site_id: 'site-a',
    dim: '',
    from: hourBucket(T0) - 1,
    to: hourBucket(T0) + 12,
  })
  // The sessions as the windows leave them: replayed in order into a new memory.
  const state = new FoldState(TIMEOUT)
  for (const fold of folds) state.replay(fold)
  const kept = [...state.site('site-a').sessions.values()].flat()
  const sessions = clients.map((client) => {
    const own = kept.filter((k) => k.session.client_session_id === client).map((k) => k.session)
    // As SqliteStore.findSession: the session holding T0, else the nearest.
    const distance = (s: (typeof own)[number]) =>
      s.start_time <= T0 && s.end_time >= T0
        ? -1
        : Math.min(Math.abs(s.start_time - T0), Math.abs(s.end_time - T0))
    const found = own.sort((a, b) => distance(a) - distance(b))[0]
    return found ? { ...found, id: '' } : null
  })
  const record = kept
    .map(({ session: s, events }) => ({
      client: s.client_session_id,
      start: s.start_time,
      end: s.end_time,
      events: events
        ?.map((e) => `${e.timestamp}#${e.event_id}#${e.path}`)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    }))
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : a.start - b.start))
  return { days, hours, sessions, record }
}

/**
 * A fold writer handed entries as the roll-up handler hands them (the shared roll-up over
 * its `run`), for tests that count scenarios into windows: `count` says how many it counted
 * and which windows it stored.
 */
export function countingWriter(
  segments: FoldSegments,
  options: RollupOptions,
  now: () => number,
): {
  count(entries: readonly RollupEntry[]): Promise<{ counted: number; windows: StoredWindow[] }>
} {
  const writer = new FoldWriter(segments, options.sessionTimeoutMs, now)
  return {
    async count(entries) {
      const windows: StoredWindow[] = []
      const counted = await rollUpBatch(
        {
          rollup: async (work) => {
            const run = await writer.run(work)
            windows.push(...run.windows)
            return run.result
          },
        },
        entries,
        options,
      )
      return { counted, windows }
    },
  }
}
