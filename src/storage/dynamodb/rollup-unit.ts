import { randomBytes } from 'node:crypto'
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { DeltaAccumulator, eventMarks } from '../../core/rollup-deltas.ts'
import type { SessionState, VisitorMark } from '../../core/types.ts'
import type { ReadSession } from '../../record/session-events.ts'
import {
  itemTime,
  type QueuedEvent,
  type RollupEntry,
  type RollupProgress,
  type RollupQueue,
  type RollupUnit,
  type SessionLookup,
  type SetAside,
  type StreamPosition,
} from '../store.ts'
import { counterOp, versionBump } from './counter-writes.ts'
import { call, storageFault } from './faults.ts'
import { eventItem, type Item, sessionItem, sessionOf, ttlSeconds } from './items.ts'
import { clientPartition, STATE } from './keys.ts'
import { lateSites, markLate, sitesWritten } from './late-writes.ts'
import { UnitLedgers } from './ledger.ts'
import type { PulledStream } from './pulled-stream.ts'
import { packRecordEvents, type RecordWriter, recordEventsOf } from './record.ts'
import { inParallel, isConditionFailure, type StoreContext } from './requests.ts'
import { DAY_MS, MARK_KEEP_DAYS } from './retention.ts'
import { clientSessionItems } from './session-reads.ts'
import type { UnitWriter, WriteOp } from './unit-writer.ts'

/** Parallel requests of one fan-out (session lookups, mark claims). */
const FAN_OUT = 16

/**
 * The roll-up's side: units of work over the stored sessions, marks and ledgers, written
 * by the UnitWriter so each counts once (README.md, "Counting once"); and the dead letters.
 * Where the pending items come from is not its business: a Lambda batch, or the local
 * poller's backlog (PulledStream).
 */
export class DynamoDbRollups
  implements Pick<RollupQueue, 'rollup' | 'deadLetter'>, Pick<RollupProgress, 'setAside'>
{
  /** Serialises this process's roll-up units (as the stream serialises a shard's batches). */
  private queue: Promise<unknown> = Promise.resolve()
  /** Settles when the latest unit write handed to this process has. */
  private lastWrite: Promise<void> = Promise.resolve()

  constructor(
    private readonly c: StoreContext,
    private readonly writer: UnitWriter,
    private readonly pulled: PulledStream,
    private readonly record: RecordWriter,
  ) {}

  rollup<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.runUnit(work))
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Resolves once the units asked for so far have run. */
  async settled(): Promise<void> {
    await this.queue
  }

  /**
   * Keeps the item aside, whole where the caller has it, and counts it in the summary that
   * `setAside` reads (one item: the dead letters of every stream are not one Query). An item
   * set aside twice (a redelivered record) is kept once and counted once.
   */
  async deadLetter(entry: StreamPosition, reason: string, at: number): Promise<void> {
    const item = 'item' in entry ? (entry as RollupEntry).item : undefined
    const origin = (entry as Partial<RollupEntry>).origin
    const Item = {
      pk: STATE.deadLetters(entry.stream),
      sk: entry.position,
      reason,
      failed_at: at,
      ...(item ? { payload: JSON.stringify(item) } : {}),
      // Its key, by which a replay counts it once (ledger.ts).
      ...(origin ? { origin: JSON.stringify(origin) } : {}),
    }
    const TableName = this.c.tables.state
    try {
      await this.c.doc.send(
        new PutCommand({ TableName, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('PutItem(dead letter)', error)
      await this.c.requests.put('PutItem(dead letter)', { TableName, Item })
      return
    }
    // Marks its unit claimed before it failed go back: it was never counted, and its
    // visitor's next event (or its own replay) must find them free.
    if (item?.kind === 'event') await this.releaseClaims(item.event)
    const since = item ? itemTime(item) : at
    const Key = { pk: STATE.setAsidePk, sk: STATE.one }
    await call('UpdateItem(dead letters)', () =>
      this.c.doc.send(
        new UpdateCommand({
          TableName,
          Key,
          UpdateExpression: 'ADD #items :one',
          ExpressionAttributeNames: { '#items': 'items' },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      ),
    )
    try {
      await this.c.doc.send(
        new UpdateCommand({
          TableName,
          Key,
          UpdateExpression: 'SET since = :t',
          ConditionExpression: 'attribute_not_exists(since) OR since > :t',
          ExpressionAttributeValues: { ':t': since },
        }),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw storageFault('UpdateItem(dead letters)', error)
    }
  }

  private async releaseClaims(event: QueuedEvent): Promise<void> {
    let marks: ReturnType<typeof eventMarks>
    try {
      marks = eventMarks(event, event.timezone, undefined)
    } catch {
      // Its marks cannot even be named (a time zone no calendar knows): none was claimed.
      return
    }
    for (const mark of marks) {
      if (mark.claimant === undefined) continue
      try {
        await this.c.doc.send(
          new DeleteCommand({
            TableName: this.c.tables.state,
            Key: { pk: markKey(mark), sk: STATE.one },
            ConditionExpression: 'claimer = :c',
            ExpressionAttributeValues: { ':c': claimerTag(mark.claimant) },
          }),
        )
      } catch (error) {
        if (!isConditionFailure(error)) throw storageFault('DeleteItem(mark)', error)
      }
    }
  }

  async setAside(): Promise<SetAside | null> {
    const found = await call('GetItem(dead letters)', () =>
      this.c.doc.send(
        new GetCommand({
          TableName: this.c.tables.state,
          Key: { pk: STATE.setAsidePk, sk: STATE.one },
          ConsistentRead: true,
        }),
      ),
    )
    const items = Number(found.Item?.items ?? 0)
    const since = found.Item?.since
    return items > 0 && typeof since === 'number' ? { items, since } : null
  }

  private async runUnit<T>(work: (unit: RollupUnit) => Promise<T>): Promise<T> {
    // A plan a failed write left open is finished before this unit reads anything. Its
    // writer marked it late or not when it began (late-writes.ts), maybe long ago: finishing
    // it counts as a late write to every site it touches, so no reader keeps a slice that
    // the rest of it changes.
    await this.writer.finishOpenPlans((ops) => markLate(this.c, sitesWritten(ops)))
    const hourlyDimensionsFrom = await this.hourlyDimensionsFrom()
    /** Marks this unit claimed (true) or found taken (false), by key. */
    const marks = new Map<string, boolean>()
    /**
     * The sessions this unit read, by id: a removed session is deleted by its key, and their
     * events go on in the sessions that now span them (the record).
     */
    const read = new Map<string, ReadSession & { key: Item }>()
    /** Tracker sessions whose stored sessions this unit read: the others' it may not know. */
    const lookedUp = new Set<string>()
    /** What this unit counts, by identity, and the fence that makes it the only one that does. */
    const ledgers = new UnitLedgers(this.c.requests, this.c.tables.state)
    const unit: RollupUnit = {
      hourlyDimensionsFrom,
      uncounted: (entries) => ledgers.uncounted(entries),
      sessionsFor: (lookups) => {
        for (const l of lookups) lookedUp.add(clientPartition(l.site_id, l.client_session_id))
        return this.sessionsFor(lookups, read)
      },
      claimMarks: (wanted) => this.claimMarks(wanted, marks),
      write: async (changes) => {
        // A writer that does not await a write inside its unit (a history import) may start
        // the next before this one landed: its sessions' stored events must be read after.
        const previous = this.lastWrite
        let done = () => {}
        this.lastWrite = new Promise<void>((resolve) => {
          done = resolve
        })
        try {
          await previous
          await this.writeUnit(changes, read, lookedUp, ledgers)
        } finally {
          done()
        }
      },
    }
    return work(unit)
  }

  private async writeUnit(
    changes: Parameters<RollupUnit['write']>[0],
    read: Map<string, ReadSession & { key: Item }>,
    lookedUp: Set<string>,
    ledgers: UnitLedgers,
  ): Promise<void> {
    await this.readUnlooked(changes.sessions, read, lookedUp)
    // Outside the unit's transaction, before it: a period read must never miss a session
    // this write makes longer than the site's longest known (record.ts).
    await this.record.beforeWrite(changes.sessions, changes.record ?? [])
    // A write to sessions readers may keep (late-writes.ts): marked before, and after, so a
    // reader that kept them in between drops them.
    const late = lateSites(changes.sessions, read, changes.removedSessions ?? [], this.c.now())
    await markLate(this.c, late)
    await this.writer.write(this.unitOps(changes, read), ledgers.fence(Date.now()))
    await markLate(this.c, late)
    if (changes.through) await this.pulled.rolledUp(changes.through)
  }

  private async hourlyDimensionsFrom(): Promise<number> {
    const found = await call('GetItem(sweep)', () =>
      this.c.doc.send(
        new GetCommand({
          TableName: this.c.tables.state,
          Key: { pk: STATE.sweepPk, sk: STATE.one },
          ConsistentRead: true,
        }),
      ),
    )
    const from = found.Item?.hourly_from
    return typeof from === 'number' ? from : Number.NEGATIVE_INFINITY
  }

  /**
   * A writer that computes sessions without reading them here (a history import continuing
   * its own sessions from one unit to the next) gets their stored events read first, so its
   * Put keeps them. The collector's roll-up looks up every tracker session it writes: for it
   * this reads nothing.
   */
  private async readUnlooked(
    sessions: readonly SessionState[],
    read: Map<string, ReadSession & { key: Item }>,
    lookedUp: Set<string>,
  ): Promise<void> {
    const keys = sessions
      .map((s) => ({ pk: clientPartition(s.site_id, s.client_session_id), sk: s.id }))
      .filter((key) => !lookedUp.has(key.pk) && !read.has(key.sk))
    if (keys.length === 0) return
    const items = await this.c.requests.batchGet(this.c.tables.sessions, keys)
    for (const item of items) {
      const session = sessionOf(item)
      read.set(session.id, {
        key: { pk: item.pk, sk: item.sk },
        session,
        events: recordEventsOf(item),
      })
    }
  }

  /** A client's stored sessions: one consistent Query of its partition each. */
  private async sessionsFor(
    lookups: readonly SessionLookup[],
    read: Map<string, ReadSession & { key: Item }>,
  ): Promise<SessionState[]> {
    const found = await inParallel(lookups, FAN_OUT, async (l) => {
      const items = await clientSessionItems(
        this.c.requests,
        this.c.tables.sessions,
        l.site_id,
        l.client_session_id,
        true,
      )
      const sessions = items.map(sessionOf)
      sessions.forEach((s, i) => {
        read.set(s.id, {
          key: { pk: clientPartition(s.site_id, s.client_session_id), sk: s.id },
          session: s,
          events: recordEventsOf(items[i] as Item),
        })
      })
      return sessions.filter((s) => s.start_time <= l.to && s.end_time >= l.from)
    })
    return found.flat().sort((a, b) => a.start_time - b.start_time)
  }

  /**
   * Claims marks with a conditional write each, tagged with the event that claims it (its
   * client, time and id: VisitorMark.claimant): two shards counting the same visitor at once
   * cannot both count them (one write wins), a unit redone after a failure recognises its
   * own claims instead of finding them taken, and another event, even of the same
   * millisecond, finds them taken. Marks already known (read first, in one
   * consistent BatchGetItem per 100) cost no write.
   */
  private async claimMarks(
    wanted: readonly VisitorMark[],
    known: Map<string, boolean>,
  ): Promise<boolean[]> {
    const claimerOf = (m: VisitorMark) =>
      m.claimant !== undefined ? claimerTag(m.claimant) : `u${randomBytes(8).toString('hex')}`
    const firstOf = new Map<string, VisitorMark>()
    for (const m of wanted) {
      const key = markKey(m)
      if (!known.has(key) && !firstOf.has(key)) firstOf.set(key, m)
    }
    const toClaim = [...firstOf]
    if (toClaim.length > 0) {
      const stored = new Map<string, string>()
      const items = await this.c.requests.batchGet(
        this.c.tables.state,
        toClaim.map(([pk]) => ({ pk, sk: STATE.one })),
      )
      for (const item of items) stored.set(String(item.pk), String(item.claimer))
      const claims = toClaim.filter(([pk, m]) => {
        const claimer = stored.get(pk)
        if (claimer === undefined) return true
        known.set(pk, claimer === claimerOf(m))
        return false
      })
      await inParallel(claims, FAN_OUT, async ([pk, m]) => {
        const claimer = claimerOf(m)
        try {
          await this.c.doc.send(
            new PutCommand({
              TableName: this.c.tables.state,
              Item: {
                pk,
                sk: STATE.one,
                claimer,
                expires_at: ttlSeconds(
                  Math.max(Date.parse(m.day), Date.now()) + (MARK_KEEP_DAYS + 1) * DAY_MS,
                ),
              },
              ConditionExpression: 'attribute_not_exists(pk) OR claimer = :c',
              ExpressionAttributeValues: { ':c': claimer },
            }),
          )
          known.set(pk, true)
        } catch (error) {
          if (!isConditionFailure(error)) throw storageFault('PutItem(mark)', error)
          known.set(pk, false)
        }
      })
    }
    // The first occurrence of a key in this unit takes the claim; any later one, in this call
    // or a later one of the unit, finds it taken.
    return wanted.map((m) => {
      const key = markKey(m)
      const claimed = known.get(key) ?? false
      known.set(key, false)
      return claimed
    })
  }

  /** Every write of a unit but its fence (ledger.ts), in the order it is applied (versions last). */
  private unitOps(
    changes: Parameters<RollupUnit['write']>[0],
    read: Map<string, ReadSession & { key: Item }>,
  ): WriteOp[] {
    const { tables } = this.c
    const ops: WriteOp[] = []
    for (const session of changes.sessions) {
      // The record rides in the session's own Put: no item more per event (README.md).
      const events = this.record.eventsFor(session, read.values(), changes.record ?? [])
      const packed = events && packRecordEvents(session.start_time, events)
      ops.push({ Put: { TableName: tables.sessions, Item: sessionItem(session, packed) } })
    }
    for (const id of changes.removedSessions ?? []) {
      const key = read.get(id)?.key
      if (!key) throw new Error(`DynamoDbStore: session ${id} was removed without being read`)
      ops.push({ Delete: { TableName: tables.sessions, Key: key } })
    }
    const sites = new Set<string>()
    // A transaction may name an item once: deltas of one row (a caller may send several)
    // are added up first, as the roll-up's own accumulator adds them.
    const merged = new DeltaAccumulator()
    for (const { key, counters } of changes.deltas) merged.add(key, counters)
    for (const delta of merged.deltas()) {
      const op = counterOp(tables.stats, delta)
      if (!op) continue
      ops.push(op)
      sites.add(delta.key.site_id)
    }
    for (const event of changes.events ?? []) {
      ops.push({
        Put: {
          TableName: tables.events,
          Item: eventItem(event, {
            acceptedAt: this.c.now(),
            eventTtlMs: this.c.eventTtlMs,
            imported: true,
          }),
        },
      })
    }
    for (const site of sites) ops.push({ Update: versionBump(tables.state, site) })
    return ops
  }
}

function markKey(m: VisitorMark): string {
  return STATE.mark(m.site_id, m.day, m.scope, m.visitor_id)
}

/** What a mark's `claimer` holds for the event that claimed it (VisitorMark.claimant). */
function claimerTag(claimant: string): string {
  return `e${claimant}`
}
