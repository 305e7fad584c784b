import { BatchWriteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_AGE_MS } from '../../core/parse-event.ts'
import { REPLAY_WITHIN_HOURS } from '../../entry/aws/replay-kept.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { recordReadsContract } from '../../testing/contract/record-reads.contract.ts'
import type { OpenStore } from '../../testing/contract/store.contract.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { MINUTE_MS, makeEvent, makeSite } from '../../testing/fixtures.ts'
import { COPY_BATCH } from './copy-batches.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import { REPLAY_HORIZON_HOURS } from './fold-writer.ts'
import type { Item } from './items.ts'
import { STATE } from './keys.ts'
import { SETTLE_MS } from './late-writes.ts'
import { decodePack, PACK_AFTER_MS } from './record-packs.ts'

const DAY = 86_400_000
/** A UTC midnight: day D of the tests. */
const D = Date.UTC(2026, 2, 10)
let sessionIds = 0
const ROLLUP = { sessionTimeoutMs: 30 * MINUTE_MS, newSessionId: () => `s${++sessionIds}` }

/** The moment by which every day up to and including `day`'s start + 1 day is due. */
const dueThrough = (dayStart: number) => dayStart + DAY + PACK_AFTER_MS

async function packAll(store: DynamoDbStore, now: number) {
  let days = 0
  for (;;) {
    const run = await store.packRecord(now)
    if (run.days === 0) return days
    days += run.days
  }
}

async function unpack(local: LocalTables, siteId: string) {
  await local.clients.doc.send(
    new UpdateCommand({
      TableName: local.tables.state,
      Key: { pk: STATE.record(siteId), sk: STATE.one },
      UpdateExpression: 'REMOVE packed_to',
    }),
  )
}

/**
 * The record contract on DynamoDB with packed days: before every read the site's days up to
 * the contract's T0 day (2026-01-15) are packed again from scratch (its later days stay in
 * SiteStartIndex), so each read goes across packed and unpacked days, over packs written
 * again after each change, and must answer as the index alone does.
 */
const packedDynamoStore: OpenStore = async () => {
  const local = await localTables()
  let fault = false
  const store = local.store({
    failRollupWrite: () => (fault ? ((fault = false), true) : false),
    packPartBytes: 400,
  })
  const now = dueThrough(Date.UTC(2026, 0, 15))
  const packed = {
    ...store,
    recordSessions: async (siteId: string, from: number, to: number) => {
      await unpack(local, siteId)
      await packAll(store, now)
      return store.recordSessions(siteId, from, to)
    },
  } as DynamoDbStore
  return {
    store: packed,
    failNextRollupWriteHalfway: () => {
      fault = true
    },
    cleanup: async () => {
      await store.close()
      await local.drop()
    },
  }
}

describe('Record contract: dynamodb with packed days', () => {
  recordReadsContract(packedDynamoStore)
})

describe('when a day is packed', () => {
  it('waits past every way an event of the day may still be counted', () => {
    // Accepted up to MAX_AGE_MS late, then up to 24 h on the stream; replayed within
    // REPLAY_WITHIN_HOURS of the event, under the ledgers' horizon.
    expect(PACK_AFTER_MS).toBeGreaterThanOrEqual(MAX_AGE_MS + DAY)
    expect(PACK_AFTER_MS).toBeGreaterThanOrEqual(REPLAY_WITHIN_HOURS * 3_600_000)
    expect(PACK_AFTER_MS).toBeGreaterThanOrEqual(REPLAY_HORIZON_HOURS * 3_600_000)
  })
})

describe('RecordPacks on DynamoDB Local', () => {
  let local: LocalTables | undefined
  afterEach(async () => {
    await local?.drop()
    local = undefined
  })

  /** Five days of sessions, one of them across D+1's midnight, an identified user on two. */
  async function fiveDays(options: { packPartBytes?: number; now?: () => number } = {}) {
    local = await localTables()
    const store = local.store(options)
    await store.createSite(makeSite({ id: 'site-a' }))
    const at = (id: string, client: string, t: number, extra = {}) =>
      makeEvent({
        event_id: id,
        site_id: 'site-a',
        client_session_id: client,
        visitor_id: `v-${client}`,
        timestamp: t,
        ...extra,
      })
    const events = []
    for (let day = -2; day <= 2; day++) {
      for (let i = 0; i < 6; i++) {
        const t = D + day * DAY + (3 + i) * 3_600_000
        events.push(at(`d${day}-${i}-a`, `c${day}-${i}`, t, { path: `/p${i}` }))
        events.push(
          at(`d${day}-${i}-b`, `c${day}-${i}`, t + MINUTE_MS, {
            event_type: 'signup',
            props: { plan: i % 2 ? 'pro' : 'free' },
          }),
        )
      }
    }
    // Across the midnight that ends day D: starts on D, ends on D+1.
    events.push(at('edge-1', 'edge', D + DAY - 10 * MINUTE_MS))
    events.push(at('edge-2', 'edge', D + DAY + 15 * MINUTE_MS, { path: '/after' }))
    // Alice, identified, on D-1 and D+1.
    const alice = { user_id: 'alice', visitor_id: 'u:alice' }
    events.push(at('al-1', 'al-tab-1', D - DAY + 20 * 3_600_000, alice))
    events.push(at('al-2', 'al-tab-2', D + DAY + 20 * 3_600_000, alice))
    await acceptAndRollUp(store, events, [], ROLLUP)
    return { store, local }
  }

  const packItems = async (l: LocalTables) =>
    (
      await l.clients.doc.send(
        new QueryCommand({
          TableName: l.tables.state,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': STATE.packs('site-a') },
          ConsistentRead: true,
        }),
      )
    ).Items ?? []

  const periods: Array<[number, number]> = [
    [D - 2 * DAY, D + 3 * DAY],
    [D + DAY, D + DAY + 3_600_000],
    [D + 12 * 3_600_000, D + DAY + 12 * 3_600_000],
    [D + DAY - MINUTE_MS, D + DAY - 1],
    [D - DAY, D - 1],
  ]

  it('reads a period across packed and unpacked days as before packing, each session once', async () => {
    const { store, local } = await fiveDays()
    const before = await Promise.all(periods.map(([f, t]) => store.recordSessions('site-a', f, t)))
    // Days D-2 … D are due; D+1 is not (the edge session started on D, so D's due moment is
    // its end + 96 h, which `now` is past).
    expect(await packAll(store, dueThrough(D) + 30 * MINUTE_MS)).toBe(3)
    const after = await Promise.all(periods.map(([f, t]) => store.recordSessions('site-a', f, t)))
    expect(after).toEqual(before)
    const edge = after[0]?.filter((s) => s.client_session_id === 'edge') ?? []
    expect(edge.map((s) => s.events?.map((e) => e.event_id))).toEqual([['edge-1', 'edge-2']])

    // Read from the packs: with the packed days' session items gone, the read is the same.
    const packedSessions = (after[0] ?? []).filter((s) => s.start_time < D + DAY)
    await local.clients.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [local.tables.sessions]: packedSessions.slice(0, 25).map((s) => ({
            DeleteRequest: { Key: { pk: `site-a#${s.client_session_id}`, sk: s.id } },
          })),
        },
      }),
    )
    expect(await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)).toEqual(after[0])
  })

  it('leaves a day that may still change unpacked', async () => {
    const { store } = await fiveDays()
    // 96 hours after D-2 ends, less a minute: nothing is due yet.
    expect(await packAll(store, dueThrough(D - 2 * DAY) - MINUTE_MS)).toBe(0)
    // D's edge session ends after D: D waits for it.
    expect(await packAll(store, dueThrough(D) - MINUTE_MS)).toBe(2)
    expect(await packAll(store, dueThrough(D) + 15 * MINUTE_MS)).toBe(1)
  })

  it('packs a day again into the same items: idempotent, a shorter day leaves no stale part', async () => {
    const { store, local } = await fiveDays({ packPartBytes: 400 })
    const now = dueThrough(D) + 30 * MINUTE_MS
    await packAll(store, now)
    const first = await packItems(local)
    // Several parts a day at 400 bytes each.
    expect(first.length).toBeGreaterThan(3)
    const read = await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)
    await unpack(local, 'site-a')
    expect(await packAll(store, now)).toBe(3)
    expect(await packItems(local)).toEqual(first)
    expect(await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)).toEqual(read)
  })

  it('forgets a deleted user in the packed days, in fewer parts, keeps everyone else', async () => {
    const { store, local } = await fiveDays({ packPartBytes: 400 })
    await packAll(store, dueThrough(D) + 30 * MINUTE_MS)
    const before = await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)
    expect(before.filter((s) => s.user_id === 'alice')).toHaveLength(2)
    expect(await store.deleteUserData('site-a', 'alice')).toMatchObject({ sessions: 2 })
    const after = await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)
    expect(after).toEqual(before.filter((s) => s.user_id !== 'alice'))
    // In the stored packs themselves, every part that counts and every one left.
    const packed = (await packItems(local)).flatMap((item: Item) =>
      decodePack(item.z as Uint8Array),
    )
    expect(packed.filter((s) => s.user_id === 'alice')).toEqual([])
    expect(packed.length).toBeGreaterThan(0)
  })

  it('keeps everyone else in a day packed again once its copy batches are gone', async () => {
    let ahead = 0
    const { store, local } = await fiveDays({ packPartBytes: 400, now: () => Date.now() + ahead })
    await packAll(store, dueThrough(D) + 30 * MINUTE_MS)
    // Past SETTLE_MS the copy alone stands for the windows it copied (uncopied-sessions.ts).
    ahead = SETTLE_MS + MINUTE_MS
    const before = await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)
    // The packer deletes a packed day's copy batches a day later (copy-batches.ts): then its
    // anonymous sessions are only in its pack, which a user's deletion writes again.
    const batches =
      (
        await local.clients.doc.send(
          new QueryCommand({
            TableName: local.tables.state,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': COPY_BATCH.pk('site-a') },
          }),
        )
      ).Items ?? []
    expect(batches.length).toBeGreaterThan(0)
    await local.clients.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [local.tables.state]: batches.map((b) => ({
            DeleteRequest: { Key: { pk: b.pk, sk: b.sk } },
          })),
        },
      }),
    )
    expect(await store.deleteUserData('site-a', 'alice')).toMatchObject({ sessions: 2 })
    const packedDays = (s: { start_time: number }) => s.start_time < D + DAY
    const after = await store.recordSessions('site-a', D - 2 * DAY, D + 3 * DAY)
    expect(after.filter(packedDays)).toEqual(
      before.filter((s) => packedDays(s) && s.user_id !== 'alice'),
    )
  })
})
