import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRollupHandler } from '../../entry/aws/rollup-handler.ts'
import { createLogger } from '../../log/logger.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'

/**
 * On Lambda no process reads the stream's backlog: the roll-up handler records the newest
 * event each batch counted and `/api/stats` reads the lag from it (rollup_lag_s, which read
 * 0 there before).
 * Against DynamoDB Local, with the store shaped as on Lambda (no stream reader).
 */
const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const T0 = Date.UTC(2026, 0, 15, 10)

describe('the roll-up lag on Lambda', () => {
  let local: LocalTables
  let clock: number
  beforeEach(async () => {
    local = await localTables()
    clock = T0
    await local.store().createSite(site)
  })
  afterEach(async () => {
    await local.drop()
  })

  /** The store as the Lambda functions build it: no stream reader, the clock given. */
  const lambdaStore = () => local.store({ pulled: undefined, now: () => clock })
  const lagSeconds = async () => {
    const oldest = await lambdaStore().oldestPendingAcceptedAt()
    return oldest === null ? 0 : (clock - oldest) / 1000
  }

  it('is how long the oldest event newer than the last one counted has waited', async () => {
    const store = lambdaStore()
    expect(await lagSeconds()).toBe(0)
    // Stored at T0; no batch has run: it has waited since it happened.
    await store.accept([enrichedEvent({ event_id: 'a', timestamp: T0 })], [])
    clock = T0 + 20_000
    expect(await lagSeconds()).toBe(20)

    const handler = createRollupHandler(store, orderedRollupOptions(), createLogger('silent'), {
      lag: store,
    })
    expect(await handler({ Records: await local.streamRecords() })).toEqual({
      batchItemFailures: [],
    })
    // Counted, and nothing newer: nothing waits, however long ago the batch was.
    expect(await lagSeconds()).toBe(0)
    clock = T0 + 600_000
    expect(await lagSeconds()).toBe(0)

    // Two events arrive, one of the same millisecond as the counted one, and no batch comes.
    await store.accept(
      [
        enrichedEvent({ event_id: 'a2', timestamp: T0, client_session_id: 'other' }),
        enrichedEvent({ event_id: 'b', timestamp: T0 + 555_000 }),
      ],
      [],
    )
    // The same-millisecond one is not seen waiting (an estimate); the later one is.
    expect(await lagSeconds()).toBe(45)
  })

  it('keeps counting when the lag cannot be recorded', async () => {
    const store = lambdaStore()
    await store.accept([enrichedEvent({ event_id: 'a', timestamp: T0 })], [])
    const handler = createRollupHandler(store, orderedRollupOptions(), createLogger('silent'), {
      lag: {
        recordRollupLag: async () => {
          throw new Error('throttled')
        },
      },
    })
    expect(await handler({ Records: await local.streamRecords() })).toEqual({
      batchItemFailures: [],
    })
    const [day] = await store.readRollups({
      grain: 'day',
      site_id: site.id,
      dim: '',
      from: '2026-01-15',
      to: '2026-01-15',
    })
    expect(day).toMatchObject({ pageviews: 1 })
  })
})
