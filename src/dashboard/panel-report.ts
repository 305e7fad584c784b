import type { LaggedStatsReport } from '../queries/stats-report.ts'
import type { FilteredStatsReport } from '../record/filtered-report.ts'

/**
 * What the stats panel shows: the counters' report, or the record's (filters, properties),
 * both with the roll-up's lag. The record's parts are absent from a counters' report.
 */
export type PanelReport = LaggedStatsReport &
  Partial<Pick<FilteredStatsReport, 'prop_keys' | 'props' | 'record_since' | 'record_partial'>>
