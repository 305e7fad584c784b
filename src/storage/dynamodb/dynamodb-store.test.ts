import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { localDay } from '../../core/calendar.ts'
import { markScope } from '../../core/rollup-deltas.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { describeHistoryImportContract } from '../../testing/contract/history-import.contract.ts'
import {
  describeStoreContract,
  type OpenStore,
  type StoreHarness,
} from '../../testing/contract/store.contract.ts'
import { localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient, throttledWrites } from '../../testing/dynamodb-faults.ts'
import { MINUTE_MS, makeEvent, makeSession, makeSite, T0 } from '../../testing/fixtures.ts'
import { sessionItem } from './items.ts'
import { STATE } from './keys.ts'

/**
 * The contract suite on AWS's own DynamoDB Local, with units of more than eight writes
 * applied as plans in several transactions, so every roll-up in the suite goes through the
 * plan path and the half-way fault lands between two of its chunks.
 */
const freshDynamoStore: OpenStore = async (contract = {}) => {
  const local = await localTables()
  let fault = false
  // Writes through a client that can refuse them (throttled) for the storage-fault tests.
  const faulty = contract.storageFaults ? forwardingDocClient(local) : undefined
  const harness: StoreHarness = {
    store: local.store({
      failRollupWrite: () => (fault ? ((fault = false), true) : false),
      ...(contract.now ? { now: contract.now } : {}),
      ...(faulty ? { doc: faulty.doc, backoff: { retries: 1, minTimeout: 1, maxTimeout: 5 } } : {}),
    }),
    failNextRollupWriteHalfway: () => {
      fault = true
    },
    cleanup: async () => {
      await harness.store.close()
      faulty?.mock.restore()
      await local.drop()
    },
  }
  if (faulty) harness.storageFault = throttledWrites(local, faulty.mock)
  return harness
}

describeStoreContract('dynamodb', freshDynamoStore)
describeHistoryImportContract('dynamodb', freshDynamoStore)

describe('DynamoDbStore: the record over sessions of an earlier release', () => {
  it('reads them without events, and a session that absorbs one stays so', async () => {
    const local = await localTables()
    const store = local.store()
    try {
      await store.createSite(makeSite({ id: 'site-a', created_at: T0 }))
      // A session item as the release before the record wrote it: no `ev`.
      const old = makeSession({
        id: 'old',
        site_id: 'site-a',
        client_session_id: 'tab',
        start_time: T0,
        end_time: T0 + 5 * MINUTE_MS,
      })
      await local.clients.doc.send(
        new PutCommand({ TableName: local.tables.sessions, Item: sessionItem(old) }),
      )
      const read = () => store.recordSessions('site-a', T0 - MINUTE_MS, T0 + 2 * 86_400_000)
      expect(await read()).toMatchObject([{ id: 'old', events: null }])
      // Extended after the upgrade: its earlier events are not known, so none are claimed.
      const options = { sessionTimeoutMs: 30 * MINUTE_MS, newSessionId: () => 'new' }
      const at = (id: string, timestamp: number, client = 'tab') =>
        makeEvent({ event_id: id, site_id: 'site-a', client_session_id: client, timestamp })
      await acceptAndRollUp(store, [at('late', T0 + 10 * MINUTE_MS)], [], options)
      // Another tracker session, all after the upgrade: its events are.
      await acceptAndRollUp(store, [at('fresh', T0 + 86_400_000, 'tab-2')], [], options)
      const sessions = await read()
      expect(
        sessions.map((s) => [s.id, s.end_time, s.events?.map((e) => e.event_id) ?? null]),
      ).toEqual([
        ['old', T0 + 10 * MINUTE_MS, null],
        ['new', T0 + 86_400_000, ['fresh']],
      ])
    } finally {
      await store.close()
      await local.drop()
    }
  })
})

describe('DynamoDbStore: deleting a user', () => {
  it("also deletes the visitor marks whose keys carry the user's id", async () => {
    const local = await localTables()
    const store = local.store()
    try {
      await store.createSite(makeSite({ id: 'site-a', created_at: T0 }))
      const now = Date.now()
      const event = makeEvent({
        site_id: 'site-a',
        client_session_id: 'tab',
        timestamp: now,
        user_id: 'alice',
        visitor_id: 'u:alice',
        path: '/pricing',
      })
      await acceptAndRollUp(store, [event], [], {
        sessionTimeoutMs: 30 * MINUTE_MS,
        newSessionId: () => 's1',
      })
      const day = localDay(now, 'UTC')
      const marks = [markScope('', ''), markScope('page', '/pricing')].map((scope) => ({
        pk: STATE.mark('site-a', day, scope, 'u:alice'),
        sk: STATE.one,
      }))
      const stored = () =>
        local.clients.doc.send(
          new BatchGetCommand({ RequestItems: { [local.tables.state]: { Keys: marks } } }),
        )
      expect((await stored()).Responses?.[local.tables.state]).toHaveLength(2)
      expect(await store.deleteUserData('site-a', 'alice')).toEqual({
        sessions: 1,
        events: 1,
        raw_events: 1,
      })
      expect((await stored()).Responses?.[local.tables.state]).toEqual([])
    } finally {
      await store.close()
      await local.drop()
    }
  })
})
