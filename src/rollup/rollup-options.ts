import { newSessionId } from './session-ids.ts'

export interface RollupOptions {
  sessionTimeoutMs: number
  /** A new session's id, from the site and tracker session it is of (session-ids.ts). */
  newSessionId: (siteId: string, clientSessionId: string) => string
}

export function rollupOptions(sessionTimeoutMs: number): RollupOptions {
  return { sessionTimeoutMs, newSessionId }
}
