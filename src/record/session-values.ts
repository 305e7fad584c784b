import { SESSION_DIMENSIONS, sessionDimensionValues } from '../core/rollup-deltas.ts'
import type { SessionState } from '../core/types.ts'

/**
 * The session dimensions the roll-up counts a session under even when empty (the country);
 * the others (UTM values, the screen) only when present. Read off the roll-up's own rule with
 * an all-empty session, so the two cannot drift apart.
 */
const COUNTED_WHEN_EMPTY = new Set(
  sessionDimensionValues(
    Object.fromEntries(SESSION_DIMENSIONS.map((dim) => [dim, ''])) as unknown as SessionState,
  ).map(([dim]) => dim),
)

/**
 * Calls `each` with every [dim, value] the roll-up counts a session under (rollup-deltas.ts'
 * sessionDimensionValues, the entry page included), without building the list: the report
 * asks this of every session and every session-day.
 */
export function forEachSessionValue(
  session: SessionState,
  each: (dim: string, value: string) => void,
): void {
  for (const dim of SESSION_DIMENSIONS) {
    const value = session[dim]
    if (value === '' && !COUNTED_WHEN_EMPTY.has(dim)) continue
    each(dim, value)
  }
  each('entry_page', session.entry_page)
}
