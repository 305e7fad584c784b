import { BatchWriteCommand, DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient } from '../../testing/dynamodb-faults.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'
import { isRequestItem, requestEvents } from './request-items.ts'

/**
 * The sweep forgets raw events by moving a mark and leaves their deletion to DynamoDB's TTL,
 * which costs nothing: a delete per request item billed as much as storing it. What a reader sees is the contract's (upkeep.contract.ts); this is
 * what it costs, against DynamoDB Local.
 */
const site = makeSite()
const T0 = Date.UTC(2026, 0, 15, 10)
const HOUR = 3_600_000

describe('the DynamoDB sweep', () => {
  let local: LocalTables
  beforeEach(async () => {
    local = await localTables()
    await local.store().createSite(site)
  })
  afterEach(async () => {
    await local.drop()
  })

  it('forgets expired events without a write per event, and counts each once', async () => {
    const { doc, mock } = forwardingDocClient(local)
    const writes: string[] = []
    mock.on(BatchWriteCommand).callsFake((input) => {
      writes.push(...Object.keys(input.RequestItems ?? {}))
      return local.clients.doc.send(new BatchWriteCommand(input))
    })
    mock.on(DeleteCommand).callsFake((input) => {
      writes.push(input.TableName)
      return local.clients.doc.send(new DeleteCommand(input))
    })
    const store = local.store({ doc })
    const events = ['a', 'b', 'c'].map((id, i) =>
      enrichedEvent({ event_id: id, timestamp: T0 + i * HOUR, client_session_id: `c-${id}` }),
    )
    // Three collector requests: the mark counts a request's events once it passes its latest.
    for (const event of events) await store.accept([event], [])
    await rollUpBatch(store, await store.pending(10), orderedRollupOptions())
    const policy = (now: number) => ({ now, eventTtlMs: 24 * HOUR })

    expect((await store.sweep(policy(T0 + 25 * HOUR + 1))).events).toBe(2)
    // Swept again, and later: each event is counted when it is first forgotten, never again.
    expect((await store.sweep(policy(T0 + 25 * HOUR + 1))).events).toBe(0)
    expect((await store.sweep(policy(T0 + 27 * HOUR))).events).toBe(1)
    expect(writes.filter((table) => table === local.tables.events)).toEqual([])
    // Still stored until its TTL, which DynamoDB deletes by; no read returns it.
    const stored = await local.clients.doc.send(
      new ScanCommand({ TableName: local.tables.events, ConsistentRead: true }),
    )
    const first = (stored.Items ?? []).find(
      (item) => isRequestItem(item) && requestEvents(item)[0]?.event_id === 'a',
    )
    expect(first).toBeDefined()
    expect(Number(first?.ttl)).toBeGreaterThan(0)
    const session = await store.findSession(site.id, 'c-a', T0)
    expect(session).toBeDefined()
    expect(await store.sessionEvents(session?.id ?? '')).toEqual([])
    mock.restore()
  })
})
