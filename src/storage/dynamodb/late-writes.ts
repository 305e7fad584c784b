import type { SessionState } from '../../core/types.ts'
import type { Item } from './items.ts'
import { STATE } from './keys.ts'
import type { StoreContext } from './requests.ts'

/**
 * Late writes (README.md, "Packed days"): what lets a reader keep unpacked sessions that
 * ended a while ago (columnar-record-report.ts) without reading them from SiteStartIndex for
 * every query. A session changes only when the roll-up writes it; an ordinary write is about
 * events of the last minutes, to sessions that ended within a session timeout of them. A
 * write that touches a session that ended, or starts, more than RECENT_MS before it (a late
 * event, a roll-up far behind, a replay), a user's deletion and a move are late: each adds 1
 * to `record#SITE`'s `late_gen` and sets `late_at`, and readers drop what they kept of the
 * site's unpacked days when the count differs from the one they kept them at.
 */

/** A session that ended (or starts) longer ago than this is not written by ordinary writes. */
export const RECENT_MS = 60 * 60_000
/**
 * How long after a late write nothing unpacked is kept: SiteStartIndex is eventually
 * consistent (a write normally reaches it within a second; README.md cites AWS), and a unit's
 * transaction follows its mark by seconds. Also the margin on clocks.
 */
export const SETTLE_MS = 10 * 60_000

export const LATE_GENERATION = 'late_gen'
const LATE_AT = 'late_at'

/**
 * The sites a unit's write is late for: a session it writes that starts before `now` −
 * RECENT_MS, unless its stored version started then too and ended since (a long visit going
 * on); a stored session it writes over or removes that ended before then.
 */
export function lateSites(
  written: readonly SessionState[],
  stored: ReadonlyMap<string, { session: SessionState }>,
  removed: readonly string[],
  now: number,
): Set<string> {
  const cut = now - RECENT_MS
  const sites = new Set<string>()
  for (const session of written) {
    const before = stored.get(session.id)?.session
    if (before && before.end_time < cut) sites.add(session.site_id)
    const goingOn = before !== undefined && before.start_time === session.start_time
    if (session.start_time < cut && !goingOn) sites.add(session.site_id)
  }
  for (const id of removed) {
    const before = stored.get(id)?.session
    if (before && before.end_time < cut) sites.add(before.site_id)
  }
  return sites
}

/** Marks a late write to each site (before it, and again after: see RECENT_MS's readers). */
export async function markLate(c: StoreContext, sites: Iterable<string>): Promise<void> {
  for (const siteId of sites) {
    await c.requests.update('UpdateItem(record)', {
      TableName: c.tables.state,
      Key: { pk: STATE.record(siteId), sk: STATE.one },
      UpdateExpression: 'ADD #g :one SET #at = :now',
      ExpressionAttributeNames: { '#g': LATE_GENERATION, '#at': LATE_AT },
      ExpressionAttributeValues: { ':one': 1, ':now': c.now() },
    })
  }
}

export function lateGenerationOf(site: Item | undefined): number {
  const gen = site?.[LATE_GENERATION]
  return typeof gen === 'number' ? gen : 0
}

/**
 * Unpacked sessions that ended before this may be kept (−Infinity: none, a late write just
 * happened). Any later write to them, or a new session among them, is a late one.
 */
export function keepableBefore(site: Item | undefined, now: number): number {
  const at = site?.[LATE_AT]
  if (typeof at === 'number' && now - at < SETTLE_MS) return Number.NEGATIVE_INFINITY
  return now - RECENT_MS - SETTLE_MS
}
