import { createHash } from 'node:crypto'

/**
 * A visitor is the identified user when there is one; otherwise an anonymous hash of the
 * day's salt, the site, the client IP and the user agent. The salt is never stored with the
 * data and is deleted once its day is over, so a hash cannot be linked across days.
 */
export function visitorId(input: {
  userId: string | null
  salt: string
  siteId: string
  ip: string
  userAgent: string
}): string {
  if (input.userId) return `u:${input.userId}`
  return createHash('sha256')
    .update(`${input.salt}\u001f${input.siteId}\u001f${input.ip}\u001f${input.userAgent}`)
    .digest('base64url')
    .slice(0, 22)
}
