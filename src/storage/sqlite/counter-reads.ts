// The counter reads (CounterReads): plain reads of what the roll-up wrote, needing none of the write ordering.
import type Database from 'better-sqlite3'
import type { CounterReads, RollupRange, RollupRow, TopValuesQuery } from '../store.ts'
import { checkTopValuesQuery } from '../store.ts'
import type { SpanRollups } from './span-rollups.ts'

/** Counter rows by range, top values (over the spans) and the counters' version per site. */
export class SqliteCounterReads implements CounterReads {
  private readonly s

  constructor(
    db: Database.Database,
    private readonly spans: SpanRollups,
  ) {
    const rollupRange = (table: string, oneValue: boolean) =>
      db.prepare(
        // One value over time (a filter) reads that value's rows only, not the whole range.
        `SELECT * FROM ${table} ${oneValue ? `INDEXED BY ${table}_by_value` : ''}
         WHERE site_id = ? AND dim = ? AND bucket BETWEEN ? AND ?
         ${oneValue ? 'AND value = ?' : ''} ORDER BY bucket, value`,
      )
    this.s = {
      countersVersion: db.prepare('SELECT version FROM counters_version WHERE site_id = ?').pluck(),
      rollups: {
        hour: rollupRange('rollup_hour', false),
        day: rollupRange('rollup_day', false),
      },
      rollupsOfValue: {
        hour: rollupRange('rollup_hour', true),
        day: rollupRange('rollup_day', true),
      },
    }
  }

  async countersVersion(siteId: string): Promise<number> {
    return (this.s.countersVersion.get(siteId) as number | undefined) ?? 0
  }

  async readRollups(range: RollupRange): Promise<RollupRow[]> {
    const args = [range.site_id, range.dim, range.from, range.to]
    if (range.value === undefined) {
      return this.s.rollups[range.grain].all(...args) as RollupRow[]
    }
    return this.s.rollupsOfValue[range.grain].all(...args, range.value) as RollupRow[]
  }

  async topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    // The counter name is checked against the fixed list before it becomes part of SQL.
    checkTopValuesQuery(query, 'SqliteStore.topValues')
    return this.spans.topValues(query)
  }
}
