import { randomUUID } from 'node:crypto'

/**
 * A new session's id: the time first, so new sessions append to an ordered table instead of
 * landing on random pages, then randomness, then where the session lives: its site and
 * tracker session, base64url. The AWS shape keys a session's item by those two
 * (src/storage/dynamodb/items.ts), so it finds a session by its id alone without an index copy
 * of every session (`sessionHome`). randomUUID draws from a cached pool, far cheaper per id
 * than randomBytes.
 */
export function newSessionId(siteId: string, clientSessionId: string, at = Date.now()): string {
  const time = Math.max(0, Math.floor(at)).toString(36).padStart(9, '0')
  const random = randomUUID().replaceAll('-', '').slice(0, 16)
  return `${time}${random}.${encode(siteId)}.${encode(clientSessionId)}`
}

/** The site and tracker session an id made by `newSessionId` names; undefined for others. */
export function sessionHome(
  id: string,
): { site_id: string; client_session_id: string } | undefined {
  const parts = id.split('.')
  if (parts.length !== 3 || parts[0]?.length !== 25) return undefined
  const site = decode(parts[1] as string)
  const client = decode(parts[2] as string)
  if (site === undefined || client === undefined) return undefined
  return { site_id: site, client_session_id: client }
}

/**
 * When an id of `newSessionId` was made (epoch ms); undefined for other ids. The AWS shape
 * finds a session without an item of its own in the copies made near that time
 * (src/storage/dynamodb/session-items.ts).
 */
export function sessionIdTime(id: string): number | undefined {
  if (!sessionHome(id)) return undefined
  const time = Number.parseInt(id.slice(0, 9), 36)
  return Number.isSafeInteger(time) ? time : undefined
}

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64url')

function decode(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined
  const decoded = Buffer.from(text, 'base64url').toString('utf8')
  // Only the text that encodes to itself: no id is taken for another's by a lenient decode.
  return encode(decoded) === text ? decoded : undefined
}
