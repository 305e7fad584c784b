import type { StatsQuery } from '../core/stats-query.ts'
import { type FilteredStatsReport, filteredReport } from './filtered-report.ts'
import { readWindow } from './period-window.ts'
import type { RecordReads } from './session-record.ts'

/**
 * The stats report from the record: reads the current period's sessions (and the previous
 * period's when comparing) and when the record began, then computes the report. What a route
 * calls for a filtered or property query.
 */
export async function recordReport(
  reads: RecordReads,
  query: StatsQuery,
): Promise<FilteredStatsReport> {
  const read = (period: StatsQuery['current']) => {
    const window = readWindow(period, query.timezone)
    return reads.recordSessions(query.site_id, window.from, window.to)
  }
  const [current, previous, recordSince] = await Promise.all([
    read(query.current),
    query.previous ? read(query.previous) : Promise.resolve(null),
    reads.recordSince(query.site_id),
  ])
  return filteredReport({ current, previous, query, recordSince })
}
