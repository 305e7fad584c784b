import type { SessionState } from '../../core/types.ts'
import type { RecordSession } from '../../record/session-record.ts'
import { sessionHome, sessionIdTime } from '../../rollup/session-ids.ts'
import { type CopiedSessions, CopyBatches } from './copy-batches.ts'
import { type Item, sessionOf } from './items.ts'
import type { StoreContext } from './requests.ts'
import { copyKey, overlaid, type Uncopied } from './uncopied-sessions.ts'

/**
 * Which copied sessions get an item of their own in the Sessions table, and how the others
 * are found (issue 23). Every copy writes its sessions into the site's copy batch
 * (copy-batches.ts), which the period reads and the packer read; a session's own item serves
 * only the reads by id, by tracker session and by user, and costs a write unit a visit. So an
 * anonymous session whose id names its site, tracker session and the time it was made
 * (src/rollup/session-ids.ts) gets none while its copies are made within NEAR_MS of that
 * time: a timeline finds it in the batches of those copies (or, once they are dropped, in its
 * day's pack). The rest keep their item, as before:
 * - an identified user's sessions: `UserIndex` lists them, and a user's deletion finds them
 *   there;
 * - ids of other shapes (earlier releases, imports, tests): only `IdIndex` finds them;
 * - a copy made outside [made − CLOCK_SKEW_MS, made + NEAR_MS], or of a version that starts
 *   more than NEAR_MS before the id was made (a late or long visit): its batch is not where a
 *   reader looks. Once a version gets its own item every later one does (copies only get
 *   later, a start only earlier, an identified visit stays so), and a reader takes the latest
 *   of the item and the batches by window (`fseq`).
 *
 * So a session without its own item starts in [made − NEAR_MS, made + NEAR_MS] and lasts at
 * most 2·NEAR_MS (its copy is made after its end).
 */
export const NEAR_MS = 60 * 60_000
/**
 * How far the sweep's clock may be behind the roll-up's that made an id. Lambda's clocks are
 * kept by the Amazon Time Sync Service
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html): well within this.
 */
export const CLOCK_SKEW_MS = 60_000

/** Whether a session's copy made at `copiedAt` also writes the session's own item. */
export function needsOwnItem(
  session: Pick<SessionState, 'id' | 'site_id' | 'client_session_id' | 'user_id' | 'start_time'>,
  copiedAt: number,
): boolean {
  if (session.user_id !== null && session.user_id !== undefined) return true
  const home = sessionHome(session.id)
  const made = sessionIdTime(session.id)
  if (
    !home ||
    made === undefined ||
    home.site_id !== session.site_id ||
    home.client_session_id !== session.client_session_id
  ) {
    return true
  }
  return (
    copiedAt < made - CLOCK_SKEW_MS ||
    copiedAt > made + NEAR_MS ||
    session.start_time < made - NEAR_MS
  )
}

/** What a read by id or tracker session needs of the packs (record-packs.ts). */
export interface PackedSessionReads {
  packedTo(siteId: string): Promise<number | undefined>
  readPacked(siteId: string, lo: number, hi: number): Promise<RecordSession[]>
}

/**
 * The sessions without their own item that a read by id or tracker session may be after: the
 * copies made in a span, and the packed sessions starting in another.
 */
export class NearCopies {
  private readonly batches: CopyBatches

  constructor(
    c: StoreContext,
    private readonly packs: PackedSessionReads,
  ) {
    this.batches = new CopyBatches(c)
  }

  /** Where the session `id` may be, if it has no item of its own. */
  ofId(siteId: string, id: string): Promise<Near> {
    const made = sessionIdTime(id)
    if (made === undefined) return Promise.resolve(EMPTY)
    return this.read(
      siteId,
      [made - CLOCK_SKEW_MS, made + NEAR_MS],
      [made - NEAR_MS, made + NEAR_MS],
    )
  }

  /**
   * Where a session with a moment within `reach` of `at` may be, if it has no item of its
   * own: it lasts at most 2·NEAR_MS, so it started from `at - reach - 2·NEAR_MS` on and by
   * `at + reach`; its id was made within NEAR_MS of its start, and its copies within
   * [made - CLOCK_SKEW_MS, made + NEAR_MS].
   */
  around(siteId: string, at: number, reach = 0): Promise<Near> {
    return this.read(
      siteId,
      [at - reach - 3 * NEAR_MS - CLOCK_SKEW_MS, at + reach + 2 * NEAR_MS],
      [at - reach - 2 * NEAR_MS, at + reach],
    )
  }

  private async read(
    siteId: string,
    [copiedFrom, copiedTo]: [number, number],
    [startFrom, startTo]: [number, number],
  ): Promise<Near> {
    const [copied, packedTo] = await Promise.all([
      this.batches.between(siteId, copiedFrom, copiedTo),
      this.packs.packedTo(siteId),
    ])
    // The packer drops a batch only when its sessions' days are packed: only then is the pack
    // needed, and it holds what the dropped batch did.
    const packed =
      packedTo !== undefined && startFrom < packedTo
        ? await this.packs.readPacked(siteId, startFrom, Math.min(startTo, packedTo - 1))
        : []
    return { copied, packed }
  }
}

export interface Near {
  copied: CopiedSessions
  packed: RecordSession[]
}

const EMPTY: Near = { copied: { sessions: new Map(), removed: new Map() }, packed: [] }

/**
 * The sessions `keep` takes, each at its latest: own items laid over with the near copies
 * (`overlaid`: the later window wins, a session merged away in a copy is gone), packed
 * sessions where neither has one, then the windows not copied yet laid over all.
 */
export function latestSessions(
  own: readonly Item[],
  near: Near,
  uncopied: Uncopied,
  keep: (session: SessionState) => boolean,
): SessionState[] {
  const copied = overlaid(own, near.copied, () => true)
  // `keep` holds of a session's latest version, whichever it is.
  const found = overlaid(copied, uncopied, () => true)
    .map(sessionOf)
    .filter(keep)
  // A session with a later version than its pack's, kept or not, is not taken from the pack.
  const seen = new Set(
    [...copied, ...uncopied.sessions.values()].map((i) => copyKey(i.client_session_id, i.id)),
  )
  for (const session of near.packed) {
    const key = copyKey(session.client_session_id, session.id)
    if (seen.has(key) || near.copied.removed.has(key) || uncopied.removed.has(key)) continue
    const { events: _events, ...state } = session
    if (keep(state)) found.push(state)
  }
  return found
}
