import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { zeroCounters } from '../../core/rollup-deltas.ts'
import { buildStatsQuery, StatsParamsSchema } from '../../core/stats-query.ts'
import { statsReport } from '../../queries/stats-report.ts'
import type { DynamoDbStore } from '../../storage/dynamodb/dynamodb-store.ts'
import { PACK_AFTER_MS } from '../../storage/dynamodb/record-packs.ts'
import { SqliteExport } from '../../storage/sqlite/export.ts'
import { SqliteStore } from '../../storage/sqlite/sqlite-store.ts'
import type { Store } from '../../storage/store.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { makeEvent, makeSite } from '../../testing/fixtures.ts'
import { countsOf, rollupScenario, scenarioClients } from '../../testing/rollup-scenario.ts'
import { tempDir } from '../../testing/temp-dir.ts'
import { DynamoDbBulkPuts } from './dynamodb-bulk-puts.ts'
import { type MoveTarget, moveToDynamoDb } from './move-to-dynamodb.ts'

const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const { events, bots } = rollupScenario(11)
const clients = scenarioClients(events)
/** The move runs the evening after: the morning's raw events are within the 24-hour TTL. */
const NOW = Date.UTC(2026, 0, 15, 20)
const TTL = 24 * 3_600_000

function report(store: Store, params: Record<string, string>) {
  const parsed = StatsParamsSchema.parse({ site: site.id, ...params })
  return statsReport(store, buildStatsQuery(parsed, site.timezone, NOW))
}

describe('moving an embedded install into DynamoDB', () => {
  const dir = tempDir()
  const file = join(dir.path, 'liveinsight.db')
  let sqlite: SqliteStore
  let local: LocalTables
  let dynamo: DynamoDbStore
  let target: MoveTarget

  beforeAll(async () => {
    sqlite = new SqliteStore({ file })
    await sqlite.createSite(site)
    await sqlite.initSetting('admin_password_hash', 'scrypt$example')
    await sqlite.dailySalt('2026-01-15')
    let ids = 0
    await acceptAndRollUp(sqlite, events, bots, {
      sessionTimeoutMs: 30 * 60_000,
      newSessionId: () => `s-${++ids}`,
    })
    local = await localTables()
    dynamo = local.store()
    target = {
      store: dynamo,
      puts: new DynamoDbBulkPuts({ doc: local.clients.doc, tables: local.tables, eventTtlMs: TTL }),
    }
    const from = new SqliteExport(file)
    try {
      const moved = await moveToDynamoDb(from, target, { now: NOW, eventTtlMs: TTL })
      expect(moved).toMatchObject({ sites: 1, events: events.length, skipped_sites: [] })
      expect(moved.sessions).toBeGreaterThan(10)
    } finally {
      from.close()
    }
  })
  afterAll(async () => {
    await sqlite.close()
    await local.drop()
    dir.remove()
  })

  it('keeps every counter row and session', async () => {
    const before = await countsOf(sqlite, clients)
    expect(before.days[0]?.[0]?.pageviews).toBeGreaterThan(0)
    // Sessions keep their ids too: links to a timeline keep working.
    expect(await countsOf(dynamo, clients)).toEqual(before)
    const session = await sqlite.findSession(site.id, clients[0] ?? '', NOW)
    expect(await dynamo.getSession(session?.id ?? '')).toEqual(session)
    // The record with them (countsOf compares each session's events), and where it begins.
    expect(before.record.some((s) => (s.events?.length ?? 0) > 1)).toBe(true)
    expect(await dynamo.recordSince(site.id)).toBe(await sqlite.recordSince(site.id))
  })

  it('answers the same stats for the day, the week and a filter', async () => {
    const periods: Array<Record<string, string>> = [
      { period: 'custom', from: '2026-01-15', to: '2026-01-15' },
      { period: '7d' },
      { period: '7d', filter: 'page:/pricing' },
    ]
    for (const params of periods) {
      expect(await report(dynamo, params)).toEqual(await report(sqlite, params))
    }
  })

  it('brings the raw events for timelines, which the roll-up does not count again', async () => {
    const session = await sqlite.findSession(site.id, clients[3] ?? '', NOW)
    const paths = (list: Array<{ path: string; event_type: string }>) =>
      list.map((e) => [e.path, e.event_type])
    expect(paths(await dynamo.sessionEvents(session?.id ?? ''))).toEqual(
      paths(await sqlite.sessionEvents(session?.id ?? '')),
    )
    // Imported history reaches the stream too; nothing there waits to be counted.
    expect(await dynamo.backlog()).toBe(0)
    expect(await dynamo.getSetting('admin_password_hash')).toBe('scrypt$example')
    expect(await dynamo.dailySalt('2026-01-15')).toBe(await sqlite.dailySalt('2026-01-15'))
  })

  it('leaves the packed days right: a move packs the site again from its sessions', async () => {
    const read = () => dynamo.recordSessions(site.id, Date.UTC(2026, 0, 14), Date.UTC(2026, 0, 17))
    const packAll = async (now: number) => {
      while ((await dynamo.packRecord(now)).days > 0) {}
    }
    const due = Date.UTC(2026, 0, 16) + PACK_AFTER_MS + 3_600_000
    const moved = await read()
    await packAll(due)
    expect(await read()).toEqual(moved)
    // A session of the packed day reaches the embedded store, then the site is moved again.
    await acceptAndRollUp(
      sqlite,
      [
        makeEvent({
          site_id: site.id,
          client_session_id: 'late-tab',
          timestamp: Date.UTC(2026, 0, 15, 22),
        }),
      ],
      [],
      { sessionTimeoutMs: 30 * 60_000, newSessionId: () => 'late-session' },
    )
    const again = new SqliteExport(file)
    try {
      await moveToDynamoDb(again, target, { now: NOW, eventTtlMs: TTL })
    } finally {
      again.close()
    }
    const withLate = await read()
    expect(withLate.map((s) => s.id)).toContain('late-session')
    await packAll(due)
    expect(await read()).toEqual(withLate)
  })

  it('changes nothing when run again, and leaves a site alone once traffic came to it', async () => {
    const before = await countsOf(dynamo, clients)
    const again = new SqliteExport(file)
    try {
      expect((await moveToDynamoDb(again, target, { now: NOW, eventTtlMs: TTL })).sites).toBe(1)
      expect(await countsOf(dynamo, clients)).toEqual(before)
      // Traffic counted here since: a third move must not overwrite it.
      await dynamo.rollup((unit) =>
        unit.write({
          sessions: [],
          deltas: [
            {
              key: { grain: 'day', site_id: site.id, bucket: '2026-01-15', dim: '', value: '' },
              counters: { ...zeroCounters(), pageviews: 1 },
            },
          ],
        }),
      )
      const third = await moveToDynamoDb(again, target, { now: NOW, eventTtlMs: TTL })
      expect(third.skipped_sites).toEqual([site.id])
      const [day] = await dynamo.readRollups({
        grain: 'day',
        site_id: site.id,
        dim: '',
        from: '2026-01-15',
        to: '2026-01-15',
      })
      expect(day?.pageviews).toBe((before.days[0]?.[0]?.pageviews ?? 0) + 1)
    } finally {
      again.close()
    }
  })
})
