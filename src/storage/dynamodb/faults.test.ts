import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb'
import { mockClient } from 'aws-sdk-client-mock'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient, throttled } from '../../testing/dynamodb-faults.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { StorageUnavailableError } from '../store.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'

/**
 * Faults DynamoDB Local never produces (throttling, batch leftovers), injected with
 * aws-sdk-client-mock into a document client whose every other call goes to DynamoDB Local:
 * what is tested is this code's retries and what it leaves behind, not the SDK's.
 */

const site = makeSite()
const T0 = Date.UTC(2026, 0, 15, 10)
const OPTIONS = { sessionTimeoutMs: 30 * 60_000, newSessionId: () => 's-1' }

describe('DynamoDB faults the emulator cannot produce', () => {
  let local: LocalTables
  let mock: ReturnType<typeof mockClient>
  let faulty: DynamoDBDocumentClient
  let store: DynamoDbStore
  let clean: DynamoDbStore

  beforeEach(async () => {
    local = await localTables()
    // Everything not overridden below goes to DynamoDB Local.
    ;({ doc: faulty, mock } = forwardingDocClient(local))
    store = local.store({ doc: faulty, backoff: { retries: 3, minTimeout: 1, maxTimeout: 5 } })
    clean = local.store()
    await clean.createSite(site)
  })
  const totals = () =>
    clean.readRollups({
      grain: 'day',
      site_id: site.id,
      dim: '',
      from: '2026-01-15',
      to: '2026-01-15',
    })
  afterEach(async () => {
    mock.restore()
    await local.drop()
  })

  it('answers a throttled accept as unavailable; its retry stores the request, each event counted once', async () => {
    // One item per request: throttled, nothing of it is stored.
    mock.on(PutCommand).callsFake(async (input) => {
      if (input.TableName === local.tables.events) throw throttled()
      return local.clients.doc.send(new PutCommand(input))
    })
    const events = ['a', 'b'].map((id, i) =>
      enrichedEvent({ event_id: id, timestamp: T0 + i * 1000, path: `/${id}` }),
    )
    await expect(store.accept(events, [])).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(await clean.backlog()).toBe(0)
    // The client sends the request again once it clears.
    mock.on(PutCommand).callsFake((input) => local.clients.doc.send(new PutCommand(input)))
    expect((await store.accept(events, [])).fresh).toEqual([true, true])
    expect(await clean.backlog()).toBe(2)
    expect(await rollUpBatch(clean, await clean.pending(10), OPTIONS)).toBe(2)
    expect((await totals())[0]).toMatchObject({ pageviews: 2, visitors: 1, sessions: 1 })
  })

  it('refuses the retry of a request stored though its answer was lost, and counts it once', async () => {
    // Stored, then the answer does not come back (a timeout): the client is told unavailable.
    let lose = true
    mock.on(PutCommand).callsFake(async (input) => {
      const out = await local.clients.doc.send(new PutCommand(input))
      if (input.TableName === local.tables.events && lose) {
        lose = false
        throw throttled()
      }
      return out
    })
    const events = ['a', 'b'].map((id, i) =>
      enrichedEvent({ event_id: id, timestamp: T0 + i * 1000, path: `/${id}` }),
    )
    await expect(store.accept(events, [])).rejects.toBeInstanceOf(StorageUnavailableError)
    // The same request again has the same key: refused as a duplicate, nothing more queued.
    expect((await store.accept(events, [])).fresh).toEqual([false, false])
    expect(await clean.backlog()).toBe(2)
    expect(await rollUpBatch(clean, await clean.pending(10), OPTIONS)).toBe(2)
    expect((await totals())[0]).toMatchObject({ pageviews: 2, visitors: 1, sessions: 1 })
  })
})
