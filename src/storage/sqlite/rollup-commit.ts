import type Database from 'better-sqlite3'
import { localDay } from '../../core/calendar.ts'
import { SESSION_FIELDS } from '../../core/session-fields.ts'
import {
  COUNTER_NAMES,
  type EnrichedEvent,
  type PropValue,
  type RollupDelta,
  type SessionState,
} from '../../core/types.ts'
import { capDistinctValues, limitProps, RECORD_LIMITS } from '../../record/property-limits.ts'
import type { RecordInput } from '../store.ts'
import type { CounterRow } from './counter-row.ts'
import { eventRowValues, INSERT_EVENT_SQL } from './event-row.ts'
import { PendingQueue } from './pending-queue.ts'
import type { SpanRollups } from './span-rollups.ts'

export const SESSION_COLUMNS = SESSION_FIELDS

/**
 * Everything one roll-up unit writes (RollupUnit.write) as the statements bind it, which is
 * also how it crosses to a commit thread: arrays of values clone at about half the cost of
 * objects, and that cost falls on the thread computing the units. The visitor marks it
 * claimed come packed, one blob per day (core/mark-hash.ts).
 */
export interface UnitRows {
  marks: Array<[day: string, packed: Uint8Array]>
  /** Marks of days kept in the table (visitor-marks.ts), a row each. */
  markRows: Array<[day: string, hash: number]>
  /** SESSION_COLUMNS order. */
  sessions: unknown[][]
  removedSessions: readonly string[]
  /** EVENT_COLUMNS order. */
  events: unknown[][]
  counters: CounterRow[]
  /** The record's events in the order counted, props within the per-event limits. */
  record: RecordRow[]
  /** Per site: the longest session written (ms), and its earliest recorded event or null. */
  recordSites: Array<[site: string, longest: number, earliest: number | null]>
  processedThrough: number | undefined
  /** A test's fault: the write throws before this step, inside its transaction. */
  failAt?: RollupWriteStep
}

export function unitRows(unit: {
  marks: UnitRows['marks']
  markRows: UnitRows['markRows']
  sessions: readonly SessionState[]
  removedSessions: readonly string[]
  events: readonly EnrichedEvent[]
  deltas: readonly RollupDelta[]
  record: readonly RecordInput[]
  processedThrough: number | undefined
  failAt: RollupWriteStep | undefined
}): UnitRows {
  const sites = new Map<string, [site: string, longest: number, earliest: number | null]>()
  const siteRow = (site: string) => {
    let row = sites.get(site)
    if (!row) {
      row = [site, 0, null]
      sites.set(site, row)
    }
    return row
  }
  for (const session of unit.sessions) {
    const row = siteRow(session.site_id)
    row[1] = Math.max(row[1], session.end_time - session.start_time)
  }
  for (const event of unit.record) {
    const row = siteRow(event.site_id)
    row[2] = Math.min(row[2] ?? event.timestamp, event.timestamp)
  }
  return {
    ...(unit.failAt ? { failAt: unit.failAt } : {}),
    marks: unit.marks,
    markRows: unit.markRows,
    sessions: unit.sessions.map((session) => SESSION_COLUMNS.map((column) => session[column])),
    removedSessions: unit.removedSessions,
    events: unit.events.map(eventRowValues),
    counters: unit.deltas.map(
      ({ key, counters: c }): CounterRow => [
        key.grain,
        key.site_id,
        key.dim,
        key.bucket,
        key.value,
        ...COUNTER_NAMES.map((name) => c[name]),
      ],
    ),
    record: unit.record.map(
      (e): RecordRow => [
        e.site_id,
        e.client_session_id,
        e.timestamp,
        e.event_id,
        e.event_type,
        e.path,
        limitProps(e.props),
        // Only the cap on distinct values reads the day: most events carry no props.
        e.props ? localDay(e.timestamp, e.timezone) : '',
      ],
    ),
    recordSites: [...sites.values()],
    processedThrough: unit.processedThrough,
  }
}

/** One event of the record as the unit hands it over; the day is the site's, for the cap. */
export type RecordRow = [
  site_id: string,
  client_session_id: string,
  timestamp: number,
  event_id: string,
  event_type: string,
  path: string,
  props: Record<string, PropValue> | null,
  day: string,
]

/** The parts of a roll-up unit's write, in the order they are written. */
export type RollupWriteStep = 'marks' | 'sessions' | 'events' | 'record' | 'counters' | 'retire'

/**
 * The write transaction of a roll-up unit, on one connection: the store's own, or a write
 * thread's (commit-thread.ts) while the store computes the next unit.
 */
export class RollupCommit {
  private readonly s

  constructor(
    private readonly db: Database.Database,
    /** Kept exact in the same transaction as the base rows (span-rollups.ts). */
    private readonly spans: SpanRollups,
    /** The connection's queue, retired in the same transaction (the store passes its own). */
    private readonly queue: PendingQueue = new PendingQueue(db),
  ) {
    const counterUpsert = (table: string) =>
      db.prepare(
        // Positional: binding by name costs a property lookup per column and a merged object.
        `INSERT INTO ${table} (site_id, dim, bucket, value, ${COUNTER_NAMES.join(', ')})
         VALUES (?, ?, ?, ?, ${COUNTER_NAMES.map(() => '?').join(', ')})
         ON CONFLICT (site_id, dim, bucket, value) DO UPDATE SET
         ${COUNTER_NAMES.map((n) => `${n} = ${n} + excluded.${n}`).join(', ')}`,
      )
    this.s = {
      logMarks: db.prepare('INSERT INTO visitor_mark_blocks (day, marks) VALUES (?, ?)'),
      insertMark: db.prepare('INSERT OR IGNORE INTO visitor_marks (day, hash) VALUES (?, ?)'),
      upsertSession: db.prepare(
        `INSERT INTO sessions (${SESSION_COLUMNS.join(', ')})
         VALUES (${SESSION_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (id) DO UPDATE SET
         ${SESSION_COLUMNS.filter((c) => c !== 'id')
           .map((c) => `${c} = excluded.${c}`)
           .join(', ')}`,
      ),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      insertEvent: db.prepare(INSERT_EVENT_SQL),
      addHour: counterUpsert('rollup_hour'),
      addDay: counterUpsert('rollup_day'),
      recordLongest: db.prepare(
        `INSERT INTO record_sites (site_id, since, upgraded, longest) VALUES (?, NULL, 0, ?)
         ON CONFLICT (site_id) DO UPDATE SET longest = max(longest, excluded.longest)`,
      ),
      // An upgraded site's record begins at the upgrade, whatever late events come after.
      recordSince: db.prepare(
        `UPDATE record_sites SET since = min(coalesce(since, @at), @at)
         WHERE site_id = @site AND upgraded = 0`,
      ),
      nextOrd: db.prepare('SELECT next_ord FROM record_sites WHERE site_id = ?').pluck(),
      setNextOrd: db.prepare('UPDATE record_sites SET next_ord = ? WHERE site_id = ?'),
      insertRecordEvent: db.prepare(
        `INSERT OR IGNORE INTO record_events
         (site_id, client_session_id, timestamp, event_id, ord, event_type, path, props)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      knownValue: db
        .prepare(
          'SELECT 1 FROM record_prop_values WHERE site_id = ? AND day = ? AND key = ? AND value = ?',
        )
        .pluck(),
      distinctValues: db
        .prepare(
          'SELECT distinct_values FROM record_prop_keys WHERE site_id = ? AND day = ? AND key = ?',
        )
        .pluck(),
      addValue: db.prepare(
        'INSERT INTO record_prop_values (site_id, day, key, value) VALUES (?, ?, ?, ?)',
      ),
      countValue: db.prepare(
        `INSERT INTO record_prop_keys (site_id, day, key, distinct_values) VALUES (?, ?, ?, 1)
         ON CONFLICT (site_id, day, key) DO UPDATE SET distinct_values = distinct_values + 1`,
      ),
      bumpCountersVersion: db.prepare(
        `INSERT INTO counters_version (site_id, version) VALUES (?, 1)
         ON CONFLICT (site_id) DO UPDATE SET version = version + 1`,
      ),
    }
  }

  /** Writes the unit in one transaction; rolled back whole if any part fails. */
  write(unit: UnitRows): void {
    const s = this.s
    const step = (at: RollupWriteStep) => {
      if (unit.failAt === at) throw new Error(`SqliteStore: injected fault before ${at}`)
    }
    this.db.exec('BEGIN IMMEDIATE')
    try {
      step('marks')
      for (const [day, packed] of unit.marks) s.logMarks.run(day, packed)
      for (const [day, hash] of unit.markRows) s.insertMark.run(day, hash)
      step('sessions')
      for (const row of unit.sessions) s.upsertSession.run(row)
      for (const id of unit.removedSessions) s.deleteSession.run(id)
      step('events')
      for (const row of unit.events) s.insertEvent.run(row)
      step('record')
      this.writeRecord(unit)
      step('counters')
      for (const [grain, ...row] of unit.counters) {
        if (grain === 'hour') s.addHour.run(row)
        else s.addDay.run(row)
      }
      this.spans.afterWrite(unit.counters)
      for (const site of new Set(unit.counters.map((row) => row[1]))) {
        s.bumpCountersVersion.run(site)
      }
      step('retire')
      if (unit.processedThrough !== undefined) this.queue.retire(unit.processedThrough)
      this.db.exec('COMMIT')
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK')
      // What the spans cached of their windows may be ahead of the file now.
      this.spans.forget()
      throw error
    }
  }

  /** The record's part of the unit, inside its transaction (migration 105 has the tables). */
  private writeRecord(unit: UnitRows): void {
    const s = this.s
    for (const [site, longest, earliest] of unit.recordSites) {
      s.recordLongest.run(site, longest)
      if (earliest !== null) s.recordSince.run({ at: earliest, site })
    }
    const nextOrd = new Map<string, number>()
    for (const [site, client, timestamp, eventId, type, path, props, day] of unit.record) {
      const ord = nextOrd.get(site) ?? (s.nextOrd.get(site) as number)
      nextOrd.set(site, ord + 1)
      const admit = (key: string, value: string): boolean => {
        if (s.knownValue.get(site, day, key, value) !== undefined) return true
        const known = (s.distinctValues.get(site, day, key) as number | undefined) ?? 0
        if (known >= RECORD_LIMITS.distinctValuesPerKeyPerDay) return false
        s.addValue.run(site, day, key, value)
        s.countValue.run(site, day, key)
        return true
      }
      const kept = capDistinctValues(props, admit)
      s.insertRecordEvent.run(
        site,
        client,
        timestamp,
        eventId,
        ord,
        type,
        path,
        kept ? JSON.stringify(kept) : null,
      )
    }
    for (const [site, next] of nextOrd) s.setNextOrd.run(next, site)
  }
}
