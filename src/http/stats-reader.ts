import type { StatsQuery } from '../core/stats-query.ts'
import { rollupLagSeconds } from '../queries/rollup-lag.ts'
import { type LaggedStatsReport, type StatsReport, statsReport } from '../queries/stats-report.ts'
import { type RecordProperties, recordPropertiesOf } from '../record/filtered-report.ts'
import { recordReport } from '../record/record-report.ts'
import type { RecordReads } from '../record/session-record.ts'
import type { CounterReads, RollupProgress } from '../storage/store.ts'
import type { RouteDeps } from './app-env.ts'
import { ResponseCache } from './response-cache.ts'

type Deps = Pick<
  RouteDeps<CounterReads & RecordReads & RollupProgress>,
  'store' | 'statsCacheMs' | 'now' | 'recordReport' | 'recordProperties'
>

/**
 * Whether a query needs the record for its tables: the counters answer only the unfiltered
 * view (one row per dimension and value cannot narrow one table by another dimension),
 * fastest of all. An unfiltered `props=KEY` view is that view plus one property's values:
 * the counters answer it and the record adds only the property part, so the tables beside
 * the properties panel are the same figures with or without it.
 */
const needsRecord = (query: StatsQuery) => query.filters.length > 0

export interface StatsRead {
  report: LaggedStatsReport
  /**
   * The site's counters version the report was read at (CounterReads.countersVersion): above
   * 0 once a roll-up write, an import or a move counted anything for the site.
   */
  countersVersion: number
}

/**
 * Period stats as `/api/stats` and the dashboard page show them. One per app: the page and
 * the API ask the same questions (the page's view is an API query too), so they share one
 * cache instead of each keeping its own answers.
 */
export class StatsReader {
  private readonly cache: ResponseCache<StatsReport & { prop_keys?: string[] }>
  /** The property keys of a period (`propertyKeys`), by the same rule as answers. */
  private readonly keys: ResponseCache<string[]>

  constructor(private readonly deps: Deps) {
    this.cache = new ResponseCache(deps.statsCacheMs, deps.now)
    this.keys = new ResponseCache(deps.statsCacheMs, deps.now)
  }

  async read(query: StatsQuery): Promise<StatsRead> {
    // The lag and what was set aside outside the cache: while the roll-up is stuck the
    // counters (and so the cached answer) stay the same, and those are what change.
    const [counted, lag, uncounted] = await Promise.all([
      this.counted(query),
      rollupLagSeconds(this.deps.store, this.deps.now()),
      this.deps.store.setAside(),
    ])
    return {
      report: { ...counted.report, rollup_lag_s: lag, uncounted },
      countersVersion: counted.version,
    }
  }

  /**
   * The custom property keys the period's events carry, most used first: only the record
   * knows them, so the unfiltered dashboard (which the counters answer) asks for them apart,
   * after its page has shown.
   */
  async propertyKeys(query: StatsQuery): Promise<string[]> {
    const { store } = this.deps
    const version = await store.countersVersion(query.site_id)
    // Unfiltered (the panel on the counters' view), the property pass knows them: the whole
    // record report would scan every table only to drop them.
    return this.keys.get(`${version} ${JSON.stringify(query)}`, async () => {
      const keysOnly = { ...query, previous: null, props: null }
      const found = query.filters.length
        ? await this.fromRecord(keysOnly)
        : await this.properties(keysOnly)
      return found.prop_keys
    })
  }

  /**
   * Forgets every cached answer. A user's deletion changes the record and the sessions but
   * no counter, so the version in the cache key does not move: without this a deleted
   * user's sessions stayed in filtered answers until the cache expired. Per process: on
   * AWS another container's cache keeps its answers for up to STATS_CACHE_SECONDS.
   */
  forget(): void {
    this.cache.clear()
    this.keys.clear()
  }

  private async counted(query: StatsQuery): Promise<{ report: StatsReport; version: number }> {
    const { store } = this.deps
    // The key is the parsed query, so equivalent URLs share one entry, and the site's counters
    // version, so an answer is reused only until the roll-up changes what it counted: a new
    // site's first events show at once instead of after the cache's 30 s. The record is
    // written in the same unit as the counters, so the version covers its answers too.
    const version = await store.countersVersion(query.site_id)
    const report = await this.cache.get(`${version} ${JSON.stringify(query)}`, () =>
      needsRecord(query) ? this.fromRecord(query) : this.fromCounters(query),
    )
    return { report, version }
  }

  /** The counters' report, with the record's property part when the query asks for one. */
  private async fromCounters(query: StatsQuery): Promise<StatsReport> {
    const { store } = this.deps
    if (query.props === null) return statsReport(store, query)
    const [report, properties] = await Promise.all([
      statsReport(store, { ...query, props: null }),
      this.properties(query),
    ])
    return { ...report, ...properties }
  }

  private async properties(query: StatsQuery): Promise<RecordProperties> {
    const faster = this.deps.recordProperties
    if (faster) return faster(query)
    return recordPropertiesOf(await this.fromRecord({ ...query, previous: null }))
  }

  /** The record's report: the shape's faster form when it has one (columns in memory). */
  private fromRecord(query: StatsQuery) {
    return this.deps.recordReport?.(query) ?? recordReport(this.deps.store, query)
  }
}
