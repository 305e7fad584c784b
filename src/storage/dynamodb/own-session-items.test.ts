import { ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EnrichedEvent, SessionState } from '../../core/types.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import { newSessionId } from '../../rollup/session-ids.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { tabEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import { SETTLE_MS } from './late-writes.ts'
import { CLOCK_SKEW_MS, NEAR_MS, needsOwnItem } from './own-session-items.ts'
import { PACK_AFTER_MS } from './record-packs.ts'
import { COPY_IDLE_MS } from './session-projection.ts'

const site = makeSite({ id: 'site-a' })
const T0 = Date.UTC(2026, 0, 15, 10)
const MINUTE = 60_000
const DAY = 86_400_000

describe('which copied sessions keep an item of their own', () => {
  const made = T0
  const anonymous = {
    id: newSessionId(site.id, 'tab', made),
    site_id: site.id,
    client_session_id: 'tab',
    user_id: null,
    start_time: made - 5_000,
  }
  it('an anonymous session copied near its id’s time has none', () => {
    expect(needsOwnItem(anonymous, made + COPY_IDLE_MS)).toBe(false)
    expect(needsOwnItem(anonymous, made + NEAR_MS)).toBe(false)
    expect(needsOwnItem(anonymous, made - CLOCK_SKEW_MS)).toBe(false)
  })
  it('an identified one, a late or long one, and ids of other shapes keep theirs', () => {
    expect(needsOwnItem({ ...anonymous, user_id: 'u-1' }, made + MINUTE)).toBe(true)
    expect(needsOwnItem(anonymous, made + NEAR_MS + 1)).toBe(true)
    expect(needsOwnItem(anonymous, made - CLOCK_SKEW_MS - 1)).toBe(true)
    expect(needsOwnItem({ ...anonymous, start_time: made - NEAR_MS - 1 }, made + MINUTE)).toBe(true)
    expect(needsOwnItem({ ...anonymous, id: 'session-1' }, made + MINUTE)).toBe(true)
    // An id that names another tracker session is not where this one's reads look.
    expect(needsOwnItem({ ...anonymous, client_session_id: 'other' }, made + MINUTE)).toBe(true)
  })
})

describe('sessions without an item of their own, on DynamoDB Local', () => {
  let local: LocalTables
  let now: number
  let store: DynamoDbStore
  /** The real ids, made on the store's clock, as the roll-up makes them on Lambda's. */
  const ids = () => ({
    ...rollupOptions(30 * MINUTE),
    newSessionId: (s: string, c: string) => newSessionId(s, c, now),
  })
  const event = tabEvent
  const rollUp = async (events: EnrichedEvent[]) => {
    now = Math.max(now, ...events.map((e) => e.timestamp))
    await acceptAndRollUp(store, events, [], ids())
  }
  const copy = async (after = COPY_IDLE_MS + MINUTE) => {
    now += after
    await store.copySessions()
    now += SETTLE_MS + MINUTE
  }
  const ownItems = async () =>
    (
      (await local.clients.doc.send(new ScanCommand({ TableName: local.tables.sessions }))).Items ??
      []
    ).map((item) => String(item.client_session_id))
  const reads = async (s: SessionState, at: number) => ({
    byId: await store.getSession(s.id),
    found: await store.findSession(site.id, s.client_session_id, at),
  })

  beforeEach(async () => {
    local = await localTables()
    now = T0
    store = local.store({ now: () => now })
    await store.createSite(site)
  })
  afterEach(async () => {
    await store.close()
    await local.drop()
  })

  it('are found by id and tracker session in the copies, then in their day’s pack', async () => {
    await rollUp([
      event('a1', 'tab-a', T0, { user_id: 'u-1' }),
      event('b1', 'tab-b', T0 + MINUTE),
      event('b2', 'tab-b', T0 + 3 * MINUTE, { path: '/pricing' }),
    ])
    const b = await store.findSession(site.id, 'tab-b', T0 + 2 * MINUTE)
    expect(b?.pageviews).toBe(2)
    const before = await reads(b as SessionState, T0 + 2 * MINUTE)
    const timeline = await store.sessionEvents(String(b?.id))
    expect(timeline.map((e) => e.event_id)).toEqual(['b1', 'b2'])
    await copy()
    // Only the identified visit keeps an item; the anonymous one is in the copy's batch.
    expect(await ownItems()).toEqual(['tab-a'])
    expect(await reads(b as SessionState, T0 + 2 * MINUTE)).toEqual(before)
    expect(await store.sessionEvents(String(b?.id))).toEqual(timeline)
    expect(await store.userSessions({ site_id: site.id, user_id: 'u-1', limit: 5 })).toHaveLength(1)
    // Packed, and the batch dropped: the pack answers.
    now = T0 + 2 * DAY + PACK_AFTER_MS
    await store.packRecord(now)
    expect(await reads(b as SessionState, T0 + 2 * MINUTE)).toEqual(before)
    expect(await store.findSession(site.id, 'tab-b', T0 + 10 * DAY)).toEqual(before.found)
  })

  it('keep an item once a copy comes late, and are read at their latest', async () => {
    await rollUp([event('b1', 'tab-b', T0)])
    await copy()
    expect(await ownItems()).toEqual([])
    // A late event joins the visit an hour and more after its id was made: that copy is not
    // where a read by id looks, so the session takes an item of its own, which wins.
    now = T0 + NEAR_MS + 10 * MINUTE
    await acceptAndRollUp(store, [event('b2', 'tab-b', T0 + 2 * MINUTE)], [], ids())
    const later = await store.findSession(site.id, 'tab-b', T0)
    expect(later?.pageviews).toBe(2)
    await copy()
    expect(await ownItems()).toEqual(['tab-b'])
    expect(await reads(later as SessionState, T0)).toEqual({ byId: later, found: later })
  })

  it('are gone when a late event merges them into another', async () => {
    // Two visits of one tab, 40 minutes apart, each copied without an item of its own.
    await rollUp([event('c1', 'tab-c', T0)])
    await copy()
    await rollUp([event('c3', 'tab-c', T0 + 40 * MINUTE)])
    await copy()
    expect(await ownItems()).toEqual([])
    const first = await store.findSession(site.id, 'tab-c', T0)
    const second = await store.findSession(site.id, 'tab-c', T0 + 40 * MINUTE)
    expect(first?.id).not.toBe(second?.id)
    // An event between them joins them: one session of three events; the other id is gone.
    await acceptAndRollUp(store, [event('c2', 'tab-c', T0 + 20 * MINUTE)], [], ids())
    await copy()
    const merged = await store.findSession(site.id, 'tab-c', T0 + 20 * MINUTE)
    expect(merged?.pageviews).toBe(3)
    const gone = [first?.id, second?.id].find((id) => id !== merged?.id)
    expect(await store.getSession(String(gone))).toBeUndefined()
    expect(await store.getSession(String(merged?.id))).toEqual(merged)
  })
})
