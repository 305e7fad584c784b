import { BatchWriteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, describe, expect, it } from 'vitest'
import { buildStatsQuery, StatsParamsSchema } from '../../core/stats-query.ts'
import { recordReport } from '../../record/record-report.ts'
import type { RecordSession } from '../../record/session-record.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { MINUTE_MS, makeEvent, makeSite } from '../../testing/fixtures.ts'
import { BASE, recordWorld } from '../../testing/record-world.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import { type Item, sessionItem } from './items.ts'
import { STATE } from './keys.ts'
import { packRecordEvents } from './record.ts'

/**
 * The AWS shape's columnar report (columnar-record-report.ts) against the direct read's
 * (record-report.ts over DynamoDbRecordReads), on DynamoDB Local: a random world of the
 * record (record-world.ts) written as the roll-up's session items, its older days packed.
 */

const DAY = 86_400_000
/** Days before BASE - 1 are packed by then; BASE's and later stay in SiteStartIndex. */
const NOW = BASE + 5 * DAY + 3_600_000
const SITE = 'site'
const ROLLUP = { sessionTimeoutMs: 30 * MINUTE_MS, newSessionId: () => 'late-session' }

let local: LocalTables | undefined
afterEach(async () => {
  await local?.drop()
  local = undefined
})

/** Eight worlds of record-world.ts as one site's: a few hundred sessions, some without events. */
function manyWorlds(seed: number): RecordSession[] {
  return Array.from({ length: 8 }, (_, k) =>
    recordWorld(seed * 1_000_003 + k * 7_919_117, 10 * DAY).map((s) => ({
      ...s,
      id: `w${k}-${s.id}`,
      client_session_id: `w${k}-${s.client_session_id}`,
      visitor_id: `w${k}-${s.visitor_id}`,
    })),
  ).flat()
}

/** The world's sessions as session items (two of them Alice's), the record item, a store. */
async function world(
  seed: number,
  options: {
    packedDaysBytes?: number
    now?: () => number
    maxTransactItems?: number
    failRollupWrite?: () => boolean
  } = {},
) {
  local = await localTables()
  const store = local.store({ packPartBytes: 2_000, ...options })
  await store.createSite(makeSite({ id: SITE }))
  const sessions = manyWorlds(seed)
  const items: Item[] = sessions.map(({ events, ...state }, i) =>
    sessionItem(
      { ...state, user_id: i % 7 === 3 ? 'alice' : state.user_id },
      events ? packRecordEvents(state.start_time, events) : undefined,
    ),
  )
  for (let i = 0; i < items.length; i += 25) {
    await local.clients.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [local.tables.sessions]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
        },
      }),
    )
  }
  const longest = Math.max(...sessions.map((s) => s.end_time - s.start_time))
  const since = sessions.some((s) => s.events === null) ? BASE - 5 * DAY : BASE - 20 * DAY
  await local.clients.doc.send(
    new UpdateCommand({
      TableName: local.tables.state,
      Key: { pk: STATE.record(SITE), sk: STATE.one },
      UpdateExpression: 'SET since = :s, longest = :l',
      ExpressionAttributeValues: { ':s': since, ':l': longest },
    }),
  )
  return { store, local }
}

async function packAll(store: DynamoDbStore) {
  let days = 0
  for (;;) {
    const run = await store.packRecord(NOW)
    if (run.days === 0) return days
    days += run.days
  }
}

function query(params: Record<string, unknown>, zone = 'UTC') {
  return buildStatsQuery(StatsParamsSchema.parse({ site: SITE, ...params }), zone, NOW)
}

const QUERIES = [
  query({ period: '7d', filter: ['page:/pricing'] }),
  query({ period: '30d', filter: ['event:signup'], compare: 'previous' }),
  query({ period: '7d', props: 'plan' }, 'Pacific/Auckland'),
  query({ period: 'custom', from: '2026-03-12', to: '2026-03-22', filter: ['source:Google'] }),
  query(
    { period: '30d', filter: ['prop.plan:pro', 'browser!:Safari'], limit: 3 },
    'America/New_York',
  ),
  query({ period: 'today', filter: ['page~:/blog'] }, 'Asia/Kathmandu'),
]

async function bothAnswers(store: DynamoDbStore, q: (typeof QUERIES)[number]) {
  return {
    columnar: await store.columnarRecordReport(q),
    direct: await recordReport(store, q),
  }
}

async function packItems(l: LocalTables): Promise<Item[]> {
  const out = await l.clients.doc.send(
    new QueryCommand({
      TableName: l.tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': STATE.packs(SITE) },
      ConsistentRead: true,
    }),
  )
  return out.Items ?? []
}

describe('the columnar record report on DynamoDB Local', () => {
  it('answers as the direct read, figure for figure, before and after packing, cold and warm', async () => {
    const { store } = await world(7)
    for (const q of QUERIES) {
      const { columnar, direct } = await bothAnswers(store, q)
      expect(columnar).toEqual(direct)
    }
    expect(await packAll(store)).toBeGreaterThan(5)
    for (let round = 0; round < 2; round++) {
      for (const q of QUERIES) {
        const { columnar, direct } = await bothAnswers(store, q)
        expect(columnar).toEqual(direct)
      }
    }
  })

  it('serves kept days without reading them, and reads them again once a day is rewritten', async () => {
    const { store, local } = await world(11)
    await packAll(store)
    const q = QUERIES[1] as (typeof QUERIES)[number]
    const first = await store.columnarRecordReport(q)
    // The packs gone behind the store's back (no generation moved): still the kept days.
    const items = await packItems(local)
    expect(items.length).toBeGreaterThan(5)
    for (let i = 0; i < items.length; i += 25) {
      await local.clients.doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [local.tables.state]: items.slice(i, i + 25).map((item) => ({
              DeleteRequest: { Key: { pk: item.pk, sk: item.sk } },
            })),
          },
        }),
      )
    }
    expect(await store.columnarRecordReport(q)).toEqual(first)
    // Packed again from the first day (as after a move): the generation moves, days are read.
    await local.clients.doc.send(
      new UpdateCommand({
        TableName: local.tables.state,
        Key: { pk: STATE.record(SITE), sk: STATE.one },
        UpdateExpression: 'REMOVE packed_to',
      }),
    )
    await packAll(store)
    const { columnar, direct } = await bothAnswers(store, q)
    expect(columnar).toEqual(direct)
    expect(columnar).toEqual(first)
  })

  it("forgets a deleted user's sessions in the days it kept", async () => {
    const { store } = await world(13)
    await packAll(store)
    const before = await Promise.all(QUERIES.map((q) => store.columnarRecordReport(q)))
    const deleted = await store.deleteUserData(SITE, 'alice')
    expect(deleted.sessions).toBeGreaterThan(2)
    const after = await Promise.all(QUERIES.map((q) => store.columnarRecordReport(q)))
    expect(after).not.toEqual(before)
    for (const [i, q] of QUERIES.entries()) {
      expect(after[i]).toEqual(await recordReport(store, q))
    }
  })

  it('reads kept unpacked sessions again after a late write to them', async () => {
    const { store } = await world(19, { now: () => NOW })
    await packAll(store)
    const q = QUERIES[1] as (typeof QUERIES)[number]
    const first = await store.columnarRecordReport(q)
    expect(first).toEqual(await recordReport(store, q))
    // An event four days old, counted now (a replay): a session in the kept, unpacked days.
    const late = makeEvent({
      event_id: 'late-1',
      site_id: SITE,
      client_session_id: 'late-tab',
      visitor_id: 'late-visitor',
      timestamp: BASE + DAY + 3_600_000,
      event_type: 'signup',
      path: '/pricing',
    })
    await acceptAndRollUp(store, [late], [], ROLLUP)
    const { columnar, direct } = await bothAnswers(store, q)
    expect(columnar).toEqual(direct)
    expect(columnar).not.toEqual(first)
  })

  it('reads kept unpacked sessions again after a late unit left half-written is finished', async () => {
    let now = NOW
    let failNext = false
    const { store } = await world(23, {
      now: () => now,
      failRollupWrite: () => {
        const fail = failNext
        failNext = false
        return fail
      },
    })
    await packAll(store)
    const q = QUERIES[1] as (typeof QUERIES)[number]
    expect(await store.columnarRecordReport(q)).toEqual(await recordReport(store, q))
    // A late unit of six sessions, a plan of several chunks (sessions first), fails after
    // its first: its writer's second mark never happens, and most sessions wait.
    const event = (id: string, tab: string, timestamp: number) =>
      makeEvent({
        event_id: id,
        site_id: SITE,
        client_session_id: tab,
        visitor_id: `${tab}-visitor`,
        timestamp,
        event_type: 'signup',
        path: '/pricing',
      })
    failNext = true
    const late = [1, 2, 3, 4, 5, 6].map((k) => event(`late-${k}`, `tab-${k}`, BASE + DAY + k))
    let n = 0
    const sessions = { ...ROLLUP, newSessionId: () => `late-session-${++n}` }
    await expect(acceptAndRollUp(store, late, [], sessions)).rejects.toThrow()
    // Long after: a reader keeps what it reads of the half-written days again.
    now += 30 * MINUTE_MS
    await store.columnarRecordReport(q)
    // The next unit, of a fresh event, finishes the plan before its own write: the kept
    // slices must go.
    await acceptAndRollUp(store, [event('fresh-1', 'tab-0', now - MINUTE_MS)], [], sessions)
    const { columnar, direct } = await bothAnswers(store, q)
    expect(columnar).toEqual(direct)
  })

  it('answers the same when the memory keeps no day, or only some', async () => {
    for (const packedDaysBytes of [0, 1, 60_000]) {
      const { store, local: l } = await world(17, { packedDaysBytes })
      await packAll(store)
      for (let round = 0; round < 2; round++) {
        for (const q of QUERIES) {
          const { columnar, direct } = await bothAnswers(store, q)
          expect(columnar).toEqual(direct)
        }
      }
      await l.drop()
      local = undefined
    }
  })
})
