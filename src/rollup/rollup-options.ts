import { randomUUID } from 'node:crypto'

export interface RollupOptions {
  sessionTimeoutMs: number
  newSessionId: () => string
}

export function rollupOptions(sessionTimeoutMs: number): RollupOptions {
  return {
    sessionTimeoutMs,
    // Time first, so new sessions append to the table instead of landing on random pages.
    // randomUUID draws from a cached pool, far cheaper per id than randomBytes.
    newSessionId: () =>
      `${Date.now().toString(36).padStart(9, '0')}${randomUUID().replaceAll('-', '').slice(0, 16)}`,
  }
}
