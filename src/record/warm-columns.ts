import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import type { Site } from '../core/types.ts'
import { readWindow } from './period-window.ts'

/**
 * Loads each site's record columns for the dashboard's default view (30 days) in the
 * background after a start, one site after another, so the first filtered question after a
 * restart does not wait for them: reading a busy site's month out of SQLite takes minutes
 * (bench/NOTES.md). Queries arriving meanwhile wait for the load in progress instead of
 * starting their own (record-columns.ts). Stops between sites once `stopped` says so.
 */
export interface WarmableColumns {
  warm(siteId: string, timeZone: string, from: number): Promise<void>
}

export async function warmColumns(
  sites: () => Promise<Site[]>,
  columns: WarmableColumns,
  now: () => number,
  stopped: () => boolean,
  logger: { warn(fields: object, message: string): void },
): Promise<void> {
  let all: Site[]
  try {
    all = await sites()
  } catch (error) {
    if (!stopped()) logger.warn({ err: error }, "loading the record's columns at start failed")
    return
  }
  for (const site of all) {
    if (stopped()) return
    try {
      const query = buildStatsQuery(
        StatsParamsSchema.parse({ site: site.id, period: '30d' }),
        site.timezone,
        now(),
      )
      await columns.warm(site.id, site.timezone, readWindow(query.current, site.timezone).from)
    } catch (error) {
      // Only a head start lost: the first filtered query loads what it needs itself.
      if (!stopped()) {
        logger.warn({ site: site.id, err: error }, "loading the record's columns at start failed")
      }
    }
  }
}
