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
  const key = `${input.salt}\u001f${input.siteId}\u001f${input.ip}\u001f${input.userAgent}`
  // The events of one batch share all four: hash once per batch, not once per event.
  if (key !== last.key) {
    last.key = key
    last.hash = createHash('sha256').update(key).digest('base64url').slice(0, 22)
  }
  return last.hash
}

const last = { key: '', hash: '' }
