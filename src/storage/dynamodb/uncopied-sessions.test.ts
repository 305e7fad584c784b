import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { tabEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import { SETTLE_MS } from './late-writes.ts'
import { COPY_IDLE_MS, settledAfterOf } from './session-projection.ts'

/**
 * The roll-up stores windows only; the sweep copies their sessions into the Sessions table,
 * and every read lays the windows not copied yet over the copy (uncopied-sessions.ts). What a
 * read returns must not depend on whether, or how lately, the sweep copied.
 */
const site = makeSite({ id: 'site-a' })
const T0 = Date.UTC(2026, 0, 15, 10)
const MINUTE = 60_000

const event = tabEvent

describe('sessions the sweep has not copied yet', () => {
  let local: LocalTables
  let now: number
  let store: DynamoDbStore
  beforeEach(async () => {
    local = await localTables()
    now = T0 + 50 * MINUTE
    store = local.store({ now: () => now })
    await store.createSite(site)
  })
  afterEach(async () => {
    await store.close()
    await local.drop()
  })

  const copies = async () =>
    (
      (await local.clients.doc.send(new ScanCommand({ TableName: local.tables.sessions }))).Items ??
      []
    )
      .map((item) => String(item.id))
      .sort()
  const sweep = () => store.sweep({ now, eventTtlMs: 24 * 60 * MINUTE })
  /** Everything a reader can ask of sessions, for one tracker session and one user. */
  const reads = async () => {
    const recorded = await store.recordSessions(site.id, T0 - 60 * MINUTE, T0 + 60 * MINUTE)
    const found = await store.findSession(site.id, 'tab-a', T0)
    return {
      recorded,
      found,
      byId: found ? await store.getSession(found.id) : undefined,
      user: await store.userSessions({ site_id: site.id, user_id: 'u-1', limit: 10 }),
    }
  }

  it('are read from the windows until the sweep copies them, and read the same after', async () => {
    await acceptAndRollUp(
      store,
      [
        event('a1', 'tab-a', T0, { user_id: 'u-1' }),
        event('a2', 'tab-a', T0 + MINUTE, { user_id: 'u-1', path: '/pricing' }),
        event('b1', 'tab-b', T0 + 2 * MINUTE),
      ],
      [],
      orderedRollupOptions(),
    )
    // The unit wrote its window, not a session item.
    expect(await copies()).toEqual([])
    const before = await reads()
    expect(before.recorded.map((s) => [s.client_session_id, s.events?.length])).toEqual([
      ['tab-a', 2],
      ['tab-b', 1],
    ])
    expect(before.found?.client_session_id).toBe('tab-a')
    expect(before.byId).toEqual(before.found)
    expect(before.user.map((s) => s.id)).toEqual([before.found?.id])

    await sweep()
    expect(await copies()).toEqual(before.recorded.map((s) => s.id).sort())
    expect(await reads()).toEqual(before)
    // Long after the copy, the table alone answers, and the same.
    now += SETTLE_MS + MINUTE
    expect(await reads()).toEqual(before)
  })

  it('do not trust a copy for SETTLE_MS: an index that lags its table misses nothing', async () => {
    await acceptAndRollUp(store, [event('a1', 'tab-a', T0)], [], orderedRollupOptions())
    const before = await reads()
    await sweep()
    // The copied items taken away again stand in for indexes that do not show them yet.
    for (const item of (
      await local.clients.doc.send(new ScanCommand({ TableName: local.tables.sessions }))
    ).Items ?? []) {
      await local.clients.doc.send(
        new DeleteCommand({ TableName: local.tables.sessions, Key: { pk: item.pk, sk: item.sk } }),
      )
    }
    now += SETTLE_MS - MINUTE
    expect(await reads()).toEqual(before)
    // Past SETTLE_MS a copy is what the table and its indexes show: here, nothing (the
    // windows are not read) for the reads by id and user. The period reads, and the reads by
    // tracker session, take the copy's batch (copy-batches.ts, read consistently; the reads by
    // tracker session those made near their time, own-session-items.ts), which still holds it.
    now += 2 * MINUTE
    const after = await reads()
    expect(after.found).toEqual(before.found)
    expect(after.byId).toBeUndefined()
    expect(after.user).toEqual([])
    expect(after.recorded).toEqual(before.recorded)
  })

  it('are copied once each, after COPY_IDLE_MS without an event, and read the same meanwhile', async () => {
    const visit = [event('a1', 'tab-a', now - 2 * MINUTE), event('a2', 'tab-a', now - MINUTE)]
    await acceptAndRollUp(store, visit, [], orderedRollupOptions())
    const before = await reads()
    expect(before.recorded.map((s) => s.events?.length)).toEqual([2])
    // Sweeps while the visit may go on (its last event 1, then 4 minutes old): it waits, and
    // reads still see it.
    await sweep()
    expect(await copies()).toEqual([])
    now += 3 * MINUTE
    await sweep()
    expect(await copies()).toEqual([])
    expect(await reads()).toEqual(before)
    // Idle past COPY_IDLE_MS: copied, once, and read the same.
    now += COPY_IDLE_MS - 2 * MINUTE
    await sweep()
    expect(await copies()).toEqual(before.recorded.map((s) => s.id))
    now += SETTLE_MS + MINUTE
    expect(await reads()).toEqual(before)
  })

  it('drop a copied session that a later window merged away', async () => {
    // Two visits of one tab, 40 minutes apart: two sessions, both copied.
    await acceptAndRollUp(
      store,
      [event('a1', 'tab-a', T0), event('a2', 'tab-a', T0 + 40 * MINUTE)],
      [],
      orderedRollupOptions(),
    )
    await sweep()
    expect(await copies()).toHaveLength(2)
    now += SETTLE_MS + MINUTE
    // An event between them, late: one session now, the other merged into it.
    await acceptAndRollUp(
      store,
      [event('a3', 'tab-a', T0 + 20 * MINUTE)],
      [],
      orderedRollupOptions(),
    )
    const merged = await store.recordSessions(site.id, T0 - MINUTE, T0 + 60 * MINUTE)
    expect(merged.map((s) => s.events?.map((e) => e.event_id))).toEqual([['a1', 'a3', 'a2']])
    // The table still holds both until the sweep: the window's removal hides one.
    expect(await copies()).toHaveLength(2)
    await sweep()
    expect(await copies()).toEqual(merged.map((s) => s.id))
    expect(await store.recordSessions(site.id, T0 - MINUTE, T0 + 60 * MINUTE)).toEqual(merged)
  })
})

describe('the copy mark', () => {
  it('is trusted from SETTLE_MS after each copy, and not for sessions still waiting', () => {
    const at = T0
    const mark = {
      seq: 9,
      h: [
        [4, 7, at - SETTLE_MS],
        [7, 9, at - MINUTE],
      ],
    }
    expect(settledAfterOf(undefined, at)).toBe(0)
    expect(settledAfterOf(mark, at)).toBe(7)
    expect(settledAfterOf(mark, at - 2 * MINUTE)).toBe(4)
    expect(settledAfterOf(mark, at + SETTLE_MS)).toBe(9)
    // A session still waiting for its copy: its window is laid over, however old the copy.
    expect(settledAfterOf({ ...mark, p: [['tab', 's1', 6]] }, at + SETTLE_MS)).toBe(5)
  })
})
