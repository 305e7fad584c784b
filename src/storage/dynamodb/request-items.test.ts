import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../../core/types.ts'
import { rollUpPending } from '../../rollup/roll-up-batch.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import type { Item } from './items.ts'
import { isRequestItem, REQUEST_SPAN_MS, requestEvents, requestItem } from './request-items.ts'

/**
 * One Events item per collector request (request-items.ts), against DynamoDB Local: what a
 * retry, the live view, a timeline and a user erasure see of it, and what it bills.
 */
const site = makeSite()
const T0 = Date.UTC(2026, 0, 15, 10)
const MIN = 60_000

describe('request items', () => {
  let local: LocalTables
  let store: DynamoDbStore
  beforeEach(async () => {
    local = await localTables()
    store = local.store()
    await store.createSite(site)
  })
  afterEach(async () => {
    await store.close()
    await local.drop()
  })

  const requestItems = async (): Promise<Item[]> => {
    const found = await local.clients.doc.send(
      new ScanCommand({ TableName: local.tables.events, ConsistentRead: true }),
    )
    return (found.Items ?? []).filter(isRequestItem)
  }
  const eventIds = (item: Item) => requestEvents(item).map((e) => e.event_id)
  const options = orderedRollupOptions()
  const rollUp = async () => {
    while ((await rollUpPending(store, options, 1000)) > 0) {}
  }
  const pageviews = async () =>
    (
      await store.readRollups({
        grain: 'day',
        site_id: site.id,
        dim: '',
        from: '2026-01-15',
        to: '2026-01-15',
      })
    )[0]?.pageviews ?? 0

  it('refuses the identical request sent again: one item stored, its events counted once', async () => {
    const request = ['a', 'b'].map((id, i) =>
      enrichedEvent({ event_id: id, timestamp: T0 + i * MIN }),
    )
    expect((await store.accept(request, [])).fresh).toEqual([true, true])
    // The client's retry after an unavailable answer: the same events, the same key.
    expect(
      (
        await store.accept(
          request.map((e) => ({ ...e })),
          [],
        )
      ).fresh,
    ).toEqual([false, false])
    const items = await requestItems()
    expect(items.map(eventIds)).toEqual([['a', 'b']])
    expect(String(items[0]?.sk).slice(0, 13)).toBe(String(T0 + MIN))
    expect(await store.backlog()).toBe(2)
    await rollUp()
    expect(await pageviews()).toBe(2)
  })

  it('cuts a request whose events spread past REQUEST_SPAN_MS, the same way when it comes again', async () => {
    // A backfill through the API: events an hour apart, with a page view of a visit between.
    const request = [0, 3 * MIN, 60 * MIN, 62 * MIN, 120 * MIN].map((offset, i) =>
      enrichedEvent({ event_id: `e${i}`, timestamp: T0 + offset }),
    )
    expect((await store.accept(request, [])).fresh).toEqual(request.map(() => true))
    const items = await requestItems()
    expect(items.map(eventIds).sort()).toEqual([['e0', 'e1'], ['e2', 'e3'], ['e4']])
    for (const item of items) {
      expect(Number(item.max) - Number(item.min)).toBeLessThanOrEqual(REQUEST_SPAN_MS)
    }
    // Sent again, it makes the same items under the same keys: all refused.
    expect((await store.accept(request, [])).fresh).toEqual(request.map(() => false))
    expect(await requestItems()).toHaveLength(3)
  })

  it('keeps the requests of one group commit in items of their own, so a retry of one is refused', async () => {
    const first = [enrichedEvent({ event_id: 'a', timestamp: T0 })]
    const second = ['b', 'c'].map((id, i) =>
      enrichedEvent({ event_id: id, timestamp: T0 + (i + 1) * MIN, client_session_id: 'c2' }),
    )
    const together = await store.accept([...first, ...second], [], [1, 2])
    expect(together.fresh).toEqual([true, true, true])
    expect((await requestItems()).map(eventIds).sort()).toEqual([['a'], ['b', 'c']])
    // The second request sent again alone: its own key, refused.
    expect((await store.accept(second, [])).fresh).toEqual([false, false])
    expect(await store.backlog()).toBe(3)
  })

  it('counts an event repeated in another request once, and shows it once', async () => {
    const a = enrichedEvent({ event_id: 'a', timestamp: T0, path: '/a' })
    const c = enrichedEvent({ event_id: 'c', timestamp: T0 + MIN, path: '/c' })
    await store.accept([a], [])
    // A different request that repeats `a`: stored again, as part of its own item.
    expect((await store.accept([{ ...a }, c], [])).fresh).toEqual([true, true])
    expect((await requestItems()).map(eventIds).sort()).toEqual([['a'], ['a', 'c']])
    await rollUp()
    expect(await pageviews()).toBe(2)
    const live = await store.liveEventsSince(site.id, T0 - MIN, 100)
    expect(live.map((e) => e.path)).toEqual(['/a', '/c'])
    const session = await store.findSession(site.id, 'client-1', T0)
    expect((await store.sessionEvents(session?.id ?? '')).map((e) => e.event_id)).toEqual([
      'a',
      'c',
    ])
  })

  it('shows every event of a request from `since` on, one whose first event is older included', async () => {
    // An older request, wholly before `since`.
    await store.accept([enrichedEvent({ event_id: 'old', timestamp: T0 - 20 * MIN })], [])
    // A request whose first event is before `since` and the later ones after it.
    await store.accept(
      [
        enrichedEvent({ event_id: 'x', timestamp: T0 - 10 * MIN, path: '/x' }),
        enrichedEvent({ event_id: 'y', timestamp: T0 - MIN, path: '/y', client_session_id: 'c2' }),
        enrichedEvent({ event_id: 'z', timestamp: T0, path: '/z' }),
      ],
      [],
    )
    await store.accept([enrichedEvent({ event_id: 'w', timestamp: T0 - 2 * MIN, path: '/w' })], [])
    const since = T0 - 5 * MIN
    const live = await store.liveEventsSince(site.id, since, 100)
    expect(live.map((e) => [e.path, e.session_id])).toEqual([
      ['/w', 'client-1'],
      ['/y', 'c2'],
      ['/z', 'client-1'],
    ])
    // The limit keeps the latest, across requests.
    expect((await store.liveEventsSince(site.id, since, 2)).map((e) => e.path)).toEqual([
      '/y',
      '/z',
    ])
  })

  it('bills one write unit for a typical one-event tracker request (an item under 1 KB)', async () => {
    // A page view as the tracker sends it, enriched as the collector stores it.
    const event: EnrichedEvent = enrichedEvent({
      timezone: 'Europe/Berlin',
      event_id: '0b7e9c52-3f4a-4d1e-9b6a-5c2d8e7f1a30',
      client_session_id: 'k3j5h7g9f1d3s5a7',
      timestamp: T0,
      page_url: 'https://www.example-shop.com/products/running-shoes?utm_source=newsletter',
      path: '/products/running-shoes',
      host: 'www.example-shop.com',
      title: 'Running shoes for every distance | Example Shop',
      referrer: 'https://www.google.com/',
      referrer_host: 'www.google.com',
      visitor_id: 'c1f0e2d3b4a59687c1f0e2d3b4a59687',
      source: 'Google',
      channel: 'Organic Search',
      utm_source: 'newsletter',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
      country: 'DE',
      screen: 'desktop',
      props: { plan: 'pro' },
    })
    const item = requestItem([event], { acceptedAt: T0, eventTtlMs: 86_400_000 })
    const bytes = itemBytes(item)
    expect(bytes).toBeLessThanOrEqual(1024)
    const put = await local.clients.doc.send(
      new PutCommand({
        TableName: local.tables.events,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    )
    // The table's own write only: no index copies.
    expect(put.ConsumedCapacity?.CapacityUnits).toBe(1)
    expect(put.ConsumedCapacity?.GlobalSecondaryIndexes).toBeUndefined()
    expect(requestEvents(item)).toEqual([event])
  })

  it("reads a session's raw events when other sessions' requests of the site come between", async () => {
    const at = (id: string, client: string, minute: number) =>
      enrichedEvent({
        event_id: id,
        client_session_id: client,
        timestamp: T0 + minute * MIN,
        path: `/${id}`,
      })
    await store.accept([at('a1', 'tab-a', 0)], [])
    await store.accept([at('b1', 'tab-b', 1)], [])
    // One request of both tabs (as a dev server's group commit packs them).
    await store.accept([at('b2', 'tab-b', 2), at('a2', 'tab-a', 3)], [])
    await store.accept([at('c1', 'tab-c', 4)], [])
    await store.accept([at('a3', 'tab-a', 5), at('a4', 'tab-a', 6)], [])
    await store.accept([at('b3', 'tab-b', 7)], [])
    await rollUp()
    const timeline = async (client: string) => {
      const session = await store.findSession(site.id, client, T0)
      return (await store.sessionEvents(session?.id ?? '')).map((e) => e.event_id)
    }
    expect(await timeline('tab-a')).toEqual(['a1', 'a2', 'a3', 'a4'])
    expect(await timeline('tab-b')).toEqual(['b1', 'b2', 'b3'])
    expect(await timeline('tab-c')).toEqual(['c1'])
  })

  it("erases a user's raw events, keeping a mixed request's other events", async () => {
    const alice = { user_id: 'alice', visitor_id: 'u:alice', client_session_id: 'tab' }
    await store.accept(
      [
        enrichedEvent({ ...alice, event_id: 'a1', timestamp: T0 }),
        enrichedEvent({ event_id: 'b1', client_session_id: 'other', timestamp: T0 + MIN }),
      ],
      [],
    )
    await store.accept([enrichedEvent({ ...alice, event_id: 'a2', timestamp: T0 + 2 * MIN })], [])
    await rollUp()
    const before = await pageviews()
    const mixed = (await requestItems()).find((item) => eventIds(item).includes('b1'))
    expect(await store.deleteUserData(site.id, 'alice')).toMatchObject({ raw_events: 2 })
    const left = await requestItems()
    // Alice's own request went; the mixed one holds the other visitor's event, under its key.
    expect(left.map(eventIds)).toEqual([['b1']])
    expect(left[0]?.sk).toBe(mixed?.sk)
    expect(left[0]?.cs).toBe('other')
    const other = await store.findSession(site.id, 'other', T0)
    expect((await store.sessionEvents(other?.id ?? '')).map((e) => e.event_id)).toEqual(['b1'])
    expect((await store.liveEventsSince(site.id, T0 - MIN, 100)).map((e) => e.path)).toEqual(['/'])
    // The rewrite is no new request: nothing waits to be counted, the counters stay.
    expect(await store.backlog()).toBe(0)
    await rollUp()
    expect(await pageviews()).toBe(before)
  })
})

/**
 * An item's size as DynamoDB bills it: attribute names and values, strings and binary by
 * their bytes, numbers by about one byte per two digits plus one
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
function itemBytes(item: Item): number {
  let bytes = 0
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name)
    if (typeof value === 'string') bytes += Buffer.byteLength(value)
    else if (value instanceof Uint8Array) bytes += value.length
    else if (typeof value === 'number') bytes += Math.ceil(String(value).length / 2) + 1
    else if (typeof value === 'boolean' || value === null) bytes += 1
    else throw new Error(`itemBytes: ${name} is of a kind not sized here`)
  }
  return bytes
}
