import { randomUUID } from 'node:crypto'
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RecordSession } from '../../record/session-record.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import { sessionHome } from '../../rollup/session-ids.ts'
import { acceptAndRollUp } from '../../testing/accept-and-roll-up.ts'
import { type LocalTables, localTables } from '../../testing/dynamodb.ts'
import { tabEvent } from '../../testing/enriched-event.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions } from '../../testing/rollup-reference.ts'
import { COPY_BATCH, CopyBatches, encodeBatch, latestOf } from './copy-batches.ts'
import type { DynamoDbStore } from './dynamodb-store.ts'
import type { Item } from './items.ts'
import { SETTLE_MS } from './late-writes.ts'
import { PACK_AFTER_MS } from './record-packs.ts'
import { Requests } from './requests.ts'
import { COPY_IDLE_MS } from './session-projection.ts'
import { INDEX } from './tables.ts'
import { copyKey, overlaid } from './uncopied-sessions.ts'

const site = makeSite({ id: 'site-a' })
const T0 = Date.UTC(2026, 0, 15, 10)
const MINUTE = 60_000
const DAY = 86_400_000

const event = tabEvent

const session = (client: string, id: string, fseq: number, start: number): Item => ({
  client_session_id: client,
  id,
  fseq,
  start_time: start,
  end_time: start + MINUTE,
})
/** A period read's session as the reads by id answer it: without its events. */
const sessionStateOf = ({ events: _, ...state }: RecordSession) => state
const batch = (s: Item[], r: Array<[string, string, number]> = []): Item => ({
  z: encodeBatch({ s, r }),
})

describe('copy batches: the sweep copies sessions as one item per site and copy', () => {
  it("take each session's latest window, and drop one merged away after its version", () => {
    const copied = latestOf([
      batch([session('t', 'b', 7, T0)], [['t', 'a', 6]]),
      batch([session('t', 'a', 3, T0), session('t', 'b', 4, T0 - MINUTE)]),
      batch([session('t', 'c', 9, T0)], [['t', 'c', 8]]),
    ])
    expect([...copied.sessions.values()].map((s) => [s.id, s.fseq])).toEqual([
      ['b', 7],
      ['c', 9],
    ])
    // Laid over what SiteStartIndex holds: a later copy wins, a removal hides an older item.
    const indexed = [session('t', 'a', 1, T0), session('t', 'b', 8, T0), session('t', 'd', 2, T0)]
    const all = overlaid(indexed, copied, () => true)
    expect(all.map((s) => [s.id, s.fseq]).sort()).toEqual([
      ['b', 8],
      ['c', 9],
      ['d', 2],
    ])
  })
})

describe('copy batches on DynamoDB Local', () => {
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

  const batches = async () =>
    (
      await local.clients.doc.send(
        new QueryCommand({
          TableName: local.tables.state,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(site.id) },
        }),
      )
    ).Items ?? []
  const indexed = async () =>
    (
      await local.clients.doc.send(
        new QueryCommand({
          TableName: local.tables.sessions,
          IndexName: INDEX.sessionsBySiteStart,
          KeyConditionExpression: 'site_id = :s',
          ExpressionAttributeValues: { ':s': site.id },
        }),
      )
    ).Items ?? []
  const period = () => store.recordSessions(site.id, T0 - 60 * MINUTE, T0 + 60 * MINUTE)

  it('hold the period reads, SiteStartIndex none, and go once their days are packed', async () => {
    const visits = [
      event('a1', 'tab-a', T0, { user_id: 'u-1' }),
      event('a2', 'tab-a', T0 + MINUTE, { user_id: 'u-1' }),
      event('b1', 'tab-b', T0 + 2 * MINUTE),
    ]
    await acceptAndRollUp(store, visits, [], orderedRollupOptions())
    const before = await period()
    expect(before).toHaveLength(2)
    now += COPY_IDLE_MS + MINUTE
    await store.copySessions()
    now += SETTLE_MS + MINUTE
    // One batch holds both sessions; each session's own item is there for the reads by id,
    // tracker session and user, but not in SiteStartIndex.
    expect(await batches()).toHaveLength(1)
    expect(await indexed()).toEqual([])
    const items =
      (await local.clients.doc.send(new ScanCommand({ TableName: local.tables.sessions }))).Items ??
      []
    expect(items.map((i) => [i.site, i.site_id])).toEqual([
      [site.id, undefined],
      [site.id, undefined],
    ])
    expect(await period()).toEqual(before)
    const a = before.find((s) => s.client_session_id === 'tab-a')
    expect((await store.getSession(String(a?.id)))?.site_id).toBe(site.id)
    expect((await store.userSessions({ site_id: site.id, user_id: 'u-1', limit: 5 })).length).toBe(
      1,
    )
    // The packer packs the day, and the batch goes a day after the packed days pass it.
    now = T0 + 2 * DAY + PACK_AFTER_MS
    await store.packRecord(now)
    expect(await batches()).toEqual([])
    expect(await period()).toEqual(before)
  })

  it('cut a copy past the item bound into parts, read back as one', async () => {
    const c = {
      doc: local.clients.doc,
      requests: new Requests(local.clients.doc),
      tables: local.tables,
      now: () => now,
      eventTtlMs: DAY,
    }
    // Pages that do not compress away: the copy takes several parts of 400 bytes.
    const sessions: Item[] = Array.from({ length: 40 }, (_, i) => ({
      ...session(`tab-${i}`, `id-${i}`, 5, T0 + i * MINUTE),
      site_id: site.id,
      entry_page: `/${randomUUID()}`,
    }))
    await new CopyBatches(c, 400).write(site.id, 5, sessions, [['tab-0', 'gone', 4]])
    const items = await batches()
    expect(items.length).toBeGreaterThan(2)
    for (const item of items) expect((item.z as Uint8Array).byteLength).toBeLessThanOrEqual(400)
    const read = await new CopyBatches(c).from(site.id, T0)
    expect([...read.sessions.values()].map((s) => String(s.id)).sort()).toEqual(
      sessions.map((s) => String(s.id)).sort(),
    )
    expect(read.removed.get(copyKey('tab-0', 'gone'))).toBe(4)
    // Each part says its own earliest and latest start, which the packer's deletes go by.
    expect(Math.min(...items.map((i) => Number(i.lo)))).toBe(T0)
    expect(Math.max(...items.map((i) => Number(i.hi)))).toBe(T0 + 39 * MINUTE)
  })

  it('leave IdIndex out for ids that name their key, and find those sessions by key', async () => {
    // The real ids (session-ids.ts) for tab-a; an id that names no key for tab-b.
    const real = rollupOptions(30 * MINUTE)
    await acceptAndRollUp(store, [event('a1', 'tab-a', T0)], [], real)
    await acceptAndRollUp(store, [event('b1', 'tab-b', T0 + MINUTE)], [], {
      ...real,
      newSessionId: () => 'plain-id',
    })
    const [a, b] = await period()
    expect(a && sessionHome(a.id)).toEqual({ site_id: site.id, client_session_id: 'tab-a' })
    now += COPY_IDLE_MS + MINUTE
    await store.copySessions()
    const byIndex = async (id: string) =>
      (
        await local.clients.doc.send(
          new QueryCommand({
            TableName: local.tables.sessions,
            IndexName: INDEX.sessionId,
            KeyConditionExpression: 'id = :id',
            ExpressionAttributeValues: { ':id': id },
          }),
        )
      ).Items ?? []
    expect(await byIndex(String(a?.id))).toEqual([])
    expect(await byIndex('plain-id')).toHaveLength(1)
    // At once and after the indexes settle, each read finds both as before the copy.
    for (const wait of [0, SETTLE_MS + MINUTE]) {
      now += wait
      expect(await store.getSession(String(a?.id))).toEqual(a && sessionStateOf(a))
      expect(await store.getSession('plain-id')).toEqual(b && sessionStateOf(b))
      expect((await store.findSession(site.id, 'tab-a', T0))?.id).toBe(a?.id)
    }
  })

  it("lose a deleted user's sessions from every batch, and no one else's", async () => {
    await acceptAndRollUp(
      store,
      [event('a1', 'tab-a', T0, { user_id: 'u-1' }), event('b1', 'tab-b', T0 + MINUTE)],
      [],
      orderedRollupOptions(),
    )
    now += COPY_IDLE_MS + MINUTE
    await store.copySessions()
    now += SETTLE_MS + MINUTE
    await store.deleteUserData(site.id, 'u-1')
    expect((await period()).map((s) => s.client_session_id)).toEqual(['tab-b'])
    const held = latestOf(await batches())
    expect([...held.sessions.values()].map((s) => s.client_session_id)).toEqual(['tab-b'])
  })
})
