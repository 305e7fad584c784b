import type { FoldSession } from '../../fold/fold-state.ts'
import type { SiteFold } from '../../fold/site-fold.ts'
import type { FoldSegments } from './fold-segments.ts'
import { type Item, sessionItem } from './items.ts'
import { packRecordEvents } from './record.ts'
import type { SessionProjection } from './session-projection.ts'

/**
 * The sessions of a site's windows that the Sessions table may not show yet
 * (session-projection.ts: the sweep copies them, and the indexes catch up a moment later):
 * each session's latest version as a session item (`fseq` its window), and the sessions
 * merged away since. Laid over what the table's reads return, they make those reads what
 * they would be had every window been copied at once.
 */
export interface Uncopied {
  /** By `copyKey`: the table's own key, tracker session and id. */
  sessions: ReadonlyMap<string, Item>
  /** Sessions merged away (by `copyKey`), with the window that removed them. */
  removed: ReadonlyMap<string, number>
}

/** A session's identity as the Sessions table keys it (items.ts: tracker session, then id). */
export function copyKey(clientSessionId: unknown, id: unknown): string {
  return `${String(clientSessionId)}\u0000${String(id)}`
}

const NOTHING_UNCOPIED: Uncopied = { sessions: new Map(), removed: new Map() }

/** For a reader of packed days alone (a benchmark's): no window is ever laid over. */
export const NO_WINDOWS: Pick<UncopiedSessions, 'of'> = { of: async () => NOTHING_UNCOPIED }

/** What windows leave of a site's sessions, by `copyKey`. */
export interface LatestVersions {
  /** Each session's latest version, and the window that holds it. */
  sessions: Map<string, { seq: number; kept: FoldSession }>
  /** The sessions merged away since their last version, and the window that removed them. */
  removed: Map<string, { seq: number; id: string; client: string }>
}

/** Of a site's windows, in order: each session's latest version, and those merged away. */
export function latestVersions(
  windows: ReadonlyArray<{ seq: number; fold: SiteFold }>,
): LatestVersions {
  const sessions: LatestVersions['sessions'] = new Map()
  const removed: LatestVersions['removed'] = new Map()
  for (const { seq, fold } of windows) {
    for (const kept of fold.sessions.values()) {
      const key = copyKey(kept.session.client_session_id, kept.session.id)
      sessions.set(key, { seq, kept })
      removed.delete(key)
    }
    for (const [id, client] of fold.removed) {
      const key = copyKey(client, id)
      sessions.delete(key)
      removed.set(key, { seq, id, client })
    }
  }
  return { sessions, removed }
}

export class UncopiedSessions {
  constructor(
    private readonly segments: FoldSegments,
    private readonly projection: SessionProjection,
  ) {}

  /** A site's uncopied sessions: its windows after the settled copy, in order (consistent). */
  async of(siteId: string): Promise<Uncopied> {
    const windows = await this.segments.after(siteId, await this.projection.settledAfter(siteId))
    const latest = latestVersions(windows)
    const sessions = new Map<string, Item>()
    for (const [key, { seq, kept }] of latest.sessions) sessions.set(key, copyItem(kept, seq))
    const removed = new Map<string, number>()
    for (const [key, { seq }] of latest.removed) removed.set(key, seq)
    return { sessions, removed }
  }
}

/** A session's item as the copy writes it: the table's item, and the window it is from. */
export function copyItem({ session, events }: FoldSession, seq: number): Item {
  const ev = events ? packRecordEvents(session.start_time, events) : undefined
  return { ...sessionItem(session, ev), fseq: seq }
}

/**
 * The table's items laid over with the uncopied sessions: an item a later window changed is
 * that window's version, one it merged away is gone, and every uncopied session `keep` takes
 * that the table did not return is added. `keep` is the read's own condition (its range of
 * start times, say), which a session's later version may no longer meet.
 */
export function overlaid(
  items: readonly Item[],
  uncopied: Uncopied,
  keep: (item: Item) => boolean,
): Item[] {
  if (uncopied.sessions.size === 0 && uncopied.removed.size === 0) return [...items]
  const out: Item[] = []
  const seen = new Set<string>()
  for (const item of items) {
    const key = copyKey(item.client_session_id, item.id)
    seen.add(key)
    const copied = Number(item.fseq ?? 0)
    const gone = uncopied.removed.get(key)
    if (gone !== undefined && gone > copied) continue
    const later = uncopied.sessions.get(key)
    const current = later && Number(later.fseq) > copied ? later : item
    if (keep(current)) out.push(current)
  }
  for (const [key, item] of uncopied.sessions) {
    if (!seen.has(key) && keep(item)) out.push(item)
  }
  return out
}
