import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../../core/types.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { localTables } from '../../testing/dynamodb.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { SqliteStore } from '../sqlite/sqlite-store.ts'
import type { Store } from '../store.ts'
import { SETTLE_MS } from './late-writes.ts'

/**
 * The sweep's copy of the fold's sessions, attacked: whatever units come, and whenever the
 * sweep copies between them (or does not), and however long after a copy a read comes, every
 * read of sessions answers what the SQLite store answers for the same units, ids included
 * (both draw ids in order, in the form that names their key or not). Events of four tabs over three hours: gaps past the session
 * timeout make several sessions of a tab, and late events merge them again; the clock runs
 * a few minutes behind the latest event or well past it, so the copy leaves sessions waiting
 * (session-projection.ts, COPY_IDLE_MS) or takes them.
 * `COPY_RUNS` searches longer; `COPY_SEED` replays a failure's run.
 */
const RUNS = Number(process.env.COPY_RUNS ?? 4)
const SEED = process.env.COPY_SEED ? Number(process.env.COPY_SEED) : undefined
const site = makeSite({ id: 'site-a' })
const T0 = Date.UTC(2026, 0, 15, 9)
const MINUTE = 60_000
const TABS = ['tab-0', 'tab-1', 'tab-2', 'tab-3']

const eventArb = fc.record({
  tab: fc.integer({ min: 0, max: TABS.length - 1 }),
  minute: fc.integer({ min: 0, max: 180 }),
  page: fc.constantFrom('/', '/pricing', '/docs'),
})

const schedule = fc.record({
  events: fc.array(eventArb, { minLength: 3, maxLength: 14 }),
  cuts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 14, maxLength: 14 }),
  copies: fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
  settles: fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
  // How far the clock is past the latest event so far, in minutes: under COPY_IDLE_MS the
  // copy leaves the latest sessions waiting.
  lags: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 14, maxLength: 14 }),
  // Ids that name their site and tracker session (read by key, no IdIndex copy) or not.
  homeIds: fc.boolean(),
})

/**
 * Ids drawn in order, as orderedRollupOptions draws them; with `home`, in the form
 * session-ids.ts makes (the time it is made on the stores' clock, 9 characters base 36, then
 * 16 more, then the site and tracker session, base64url), so the copy leaves them out of
 * IdIndex, a read by id goes by key, and an anonymous session copied within NEAR_MS of its id
 * has no item of its own (own-session-items.ts).
 */
function idsOf(home: boolean, clock: () => number): RollupOptions {
  if (!home) return orderedRollupOptions()
  let n = 0
  const b64 = (text: string) => Buffer.from(text).toString('base64url')
  return {
    sessionTimeoutMs: 30 * MINUTE,
    newSessionId: (siteId, client) =>
      `${clock().toString(36).padStart(9, '0')}${String(++n).padStart(16, '0')}.${b64(siteId)}.${b64(client)}`,
  }
}

function eventsOf(drawn: Array<{ tab: number; minute: number; page: string }>): EnrichedEvent[] {
  return drawn.map(({ tab, minute, page }, i) =>
    enrichedEvent({
      event_id: `e${i}`,
      client_session_id: TABS[tab] as string,
      visitor_id: `visitor-${tab}`,
      // Two tabs of one identified user, two anonymous.
      user_id: tab % 2 === 0 ? 'u-1' : null,
      timestamp: T0 + minute * MINUTE + i,
      path: page,
    }),
  )
}

/** Every read of sessions a page or the API makes. */
async function reads(store: Store) {
  const recorded = await store.recordSessions(site.id, T0 - 60 * MINUTE, T0 + 300 * MINUTE)
  const found = await Promise.all(
    TABS.map((tab) => store.findSession(site.id, tab, T0 + 90 * MINUTE)),
  )
  return {
    recorded: recorded.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    found,
    byId: await Promise.all(recorded.map((s) => store.getSession(s.id))),
    user: await store.userSessions({ site_id: site.id, user_id: 'u-1', limit: 20 }),
  }
}

describe('reads of sessions over the sweep’s copy', () => {
  it(
    'answer as the SQLite store does, whenever the sweep copies',
    async () => {
      await fc.assert(
        fc.asyncProperty(schedule, async (s) => {
          const events = eventsOf(s.events)
          const local = await localTables()
          const dir = tempDir()
          let now = T0
          const dynamo = local.store({ now: () => now })
          const sqlite = new SqliteStore({ file: join(dir.path, 'reference.db') })
          try {
            await dynamo.createSite(site)
            await sqlite.createSite(site)
            const dynamoIds = idsOf(s.homeIds, () => now)
            const sqliteIds = idsOf(s.homeIds, () => now)
            let at = 0
            for (let step = 0; at < events.length; step++) {
              const unit = events.slice(at, at + (s.cuts[step] ?? 2))
              at += unit.length
              const latest = Math.max(...events.slice(0, at).map((e) => e.timestamp))
              now = Math.max(now, latest + (s.lags[step] ?? 0) * MINUTE)
              await acceptAndRollUp(dynamo, unit, [], dynamoIds)
              await acceptAndRollUp(sqlite, unit, [], sqliteIds)
              if (s.copies[step]) await dynamo.copySessions()
              // Past SETTLE_MS the copy alone is read where it covers the windows.
              if (s.settles[step]) now += SETTLE_MS + MINUTE
              expect(await reads(dynamo)).toEqual(await reads(sqlite))
            }
          } finally {
            await dynamo.close()
            await sqlite.close()
            dir.remove()
            await local.drop()
          }
        }),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
      )
    },
    Math.max(120_000, RUNS * 30_000),
  )
})
