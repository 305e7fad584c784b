import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { localDay } from '../../core/calendar.ts'
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
import { FoldSegments } from './fold-segments.ts'
import { sessionItem } from './items.ts'
import { Requests } from './requests.ts'

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
  it('reads them without events; a later event of their tracker session begins a session of its own', async () => {
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
      // The fold holds what its own windows hold (README.md, "Upgrading"): a session of the
      // release before it is not continued.
      let ids = 0
      const options = { sessionTimeoutMs: 30 * MINUTE_MS, newSessionId: () => `s${++ids}` }
      const at = (id: string, timestamp: number, client = 'tab') =>
        makeEvent({ event_id: id, site_id: 'site-a', client_session_id: client, timestamp })
      await acceptAndRollUp(store, [at('late', T0 + 10 * MINUTE_MS)], [], options)
      await acceptAndRollUp(store, [at('fresh', T0 + 86_400_000, 'tab-2')], [], options)
      const sessions = await read()
      expect(
        sessions.map((s) => [s.id, s.end_time, s.events?.map((e) => e.event_id) ?? null]),
      ).toEqual([
        ['old', T0 + 5 * MINUTE_MS, null],
        ['s1', T0 + 10 * MINUTE_MS, ['late']],
        ['s2', T0 + 86_400_000, ['fresh']],
      ])
    } finally {
      await store.close()
      await local.drop()
    }
  })
})

describe('DynamoDbStore: deleting a user', () => {
  it("also takes their sessions out of the fold's kept windows", async () => {
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
      const windows = new FoldSegments({
        doc: local.clients.doc,
        requests: new Requests(local.clients.doc),
        tables: local.tables,
        now: Date.now,
        eventTtlMs: 86_400_000,
      })
      const sessionsHeld = async () =>
        (await windows.after('site-a', 0)).flatMap((w) => [...w.fold.sessions.keys()])
      expect(await sessionsHeld()).toEqual(['s1'])
      expect(await store.deleteUserData('site-a', 'alice')).toEqual({
        sessions: 1,
        events: 1,
        raw_events: 1,
      })
      expect(await sessionsHeld()).toEqual([])
      // What the window counted stays: the day's totals hold the visit, naming no one.
      const totals = await store.readRollups({
        grain: 'day',
        site_id: 'site-a',
        dim: '',
        from: localDay(now, 'UTC'),
        to: localDay(now, 'UTC'),
      })
      expect(totals[0]).toMatchObject({ pageviews: 1, visitors: 1 })
    } finally {
      await store.close()
      await local.drop()
    }
  })
})
