import { SESSION_DIMENSIONS } from './rollup-deltas.ts'
import type { SessionState } from './types.ts'

/** Every field of a stored session, in the order the SQLite sessions table keeps them. */
export const SESSION_FIELDS = [
  'id',
  'site_id',
  'client_session_id',
  'visitor_id',
  'user_id',
  'start_time',
  'end_time',
  'pageviews',
  'interactions',
  'entry_page',
  'exit_page',
  ...SESSION_DIMENSIONS,
  // Appended: SQLite's sessions table has the column last (migration 104).
  'referrer',
] as const satisfies readonly (keyof SessionState)[]
