// The sweep and the health read (Upkeep, StorageHealth): apart since the sweep reaches into every part.
import type Database from 'better-sqlite3'
import { hourBucket } from '../../core/calendar.ts'
import { DIMENSIONS } from '../../core/rollup-deltas.ts'
import type { StorageHealth, SweepPolicy, SweepResult } from '../store.ts'
import { unavailableAs } from './connection.ts'
import type { SqliteDirectory } from './directory.ts'
import type { SqliteIntake } from './intake.ts'
import type { PendingQueue } from './pending-queue.ts'
import type { SpanRollups } from './span-rollups.ts'
import type { VisitorMarks } from './visitor-marks.ts'

/** Visitor marks and salts outlive their day by this much (late events, far time zones). */
const MARK_KEEP_DAYS = 2
/** Raw events removed per sweep transaction. */
const SWEEP_CHUNK = 5000
/** Hourly dimension rows serve the rolling "24h" view; day rows keep the history. */
const HOURLY_DIMENSION_KEEP_HOURS = 72

function utcDay(timestamp: number): string {
  return new Date(timestamp).toISOString().slice(0, 10)
}

/** The sweep and the health read; the store sweeps once the writes handed over are done. */
export class SqliteUpkeep implements Pick<StorageHealth, 'health'> {
  /** The last sweep's hourly cutoff (RollupUnit.hourlyDimensionsFrom); none before a sweep. */
  private lastHourCutoff = Number.NEGATIVE_INFINITY
  private readonly s

  constructor(
    private readonly db: Database.Database,
    private readonly parts: {
      directory: SqliteDirectory
      intake: SqliteIntake
      pendingQueue: PendingQueue
      marks: VisitorMarks
      spans: SpanRollups
    },
  ) {
    this.s = {
      sweepEvents: db.prepare(
        `DELETE FROM events WHERE (site_id, timestamp, event_id) IN (
           SELECT site_id, timestamp, event_id FROM events
           WHERE site_id = ? AND timestamp < ? LIMIT ${SWEEP_CHUNK})`,
      ),
      // By site and dimension, so each delete is a range of the key, not a scan of the table.
      sweepHourly: db.prepare(
        'DELETE FROM rollup_hour WHERE site_id = ? AND dim = ? AND bucket < ?',
      ),
      // The record's cap on distinct property values needs only the days late events reach.
      sweepPropValues: db.prepare('DELETE FROM record_prop_values WHERE day < ?'),
      sweepPropKeys: db.prepare('DELETE FROM record_prop_keys WHERE day < ?'),
      ping: db.prepare('SELECT count(*) FROM sites').pluck(),
    }
  }

  get hourlyDimensionsFrom(): number {
    return this.lastHourCutoff
  }

  async sweep(policy: SweepPolicy): Promise<SweepResult> {
    const s = this.s
    const { directory, pendingQueue } = this.parts
    const keepDaysFrom = utcDay(policy.now - MARK_KEEP_DAYS * 86_400_000)
    const hourCutoff = hourBucket(policy.now) - HOURLY_DIMENSION_KEEP_HOURS
    this.lastHourCutoff = Math.max(this.lastHourCutoff, hourCutoff)
    const siteIds = directory.sites().map((site) => site.id)
    // Raw events go in chunks, each its own short transaction, so a large sweep never holds
    // the write lock long enough to make accepts wait (or time out) behind it.
    // An event still waiting for the roll-up (one sent late, with an old time) is kept until
    // it is rolled up.
    const oldestQueued = pendingQueue.oldestEvent()
    const cutoff = Math.min(
      policy.now - policy.eventTtlMs,
      oldestQueued ?? Number.POSITIVE_INFINITY,
    )
    let events = 0
    for (const site of siteIds) {
      for (;;) {
        const removed = s.sweepEvents.run(site, cutoff).changes
        events += removed
        if (removed < SWEEP_CHUNK) break
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const { intake, marks, spans } = this.parts
    return this.db.transaction(() => {
      // Local days run up to 14 hours ahead of the UTC day: two days back still covers them.
      s.sweepPropValues.run(keepDaysFrom)
      s.sweepPropKeys.run(keepDaysFrom)
      return {
        events,
        marks: marks.sweep(keepDaysFrom),
        hourly_dimension_rows:
          siteIds
            .flatMap((site) =>
              DIMENSIONS.map((dim) => s.sweepHourly.run(site, dim, hourCutoff).changes),
            )
            .reduce((a, b) => a + b, 0) + spans.sweepHours(siteIds, hourCutoff),
        salts: intake.sweepSalts(keepDaysFrom),
      }
    })()
  }

  async health(): Promise<void> {
    unavailableAs(() => this.s.ping.get())
  }
}
