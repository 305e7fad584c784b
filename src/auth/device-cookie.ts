import { createHmac, randomBytes } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'

/**
 * How long a browser stays known after signing in. Long, as OWASP's device cookies are: the
 * cookie grants nothing but an allowance of sign-in attempts of its own, and a browser that
 * has not signed in for a year is fine starting over as an untrusted client.
 */
export const DEVICE_TTL_S = 365 * 24 * 3600
/** Kept apart from session tokens, so neither can be passed off as the other. */
const TYPE = 'li-device'
const SUBJECT = 'admin'
const GENERATION_CLAIM = 'gen'

/** The device cookies of one installation: issued at a sign-in, checked at the next. */
export interface DeviceCookies {
  /** A new device cookie (a fresh nonce) for the browser that just signed in. */
  issue(now: number): Promise<string>
  /**
   * The nonce of a device cookie this installation issued, unexpired, under the current
   * password; undefined for anything else (absent, forged, tampered, old).
   */
  nonce(cookie: string | undefined, now: number): Promise<string | undefined>
}

/**
 * Device cookies as HS256 JWTs: the nonce (`jti`), the user (`sub`), and the password
 * generation (`gen`) they were issued under, so a new password (a new generation) makes every
 * earlier device cookie worthless. Signed with a key derived from the token key, not the key
 * itself, so a device cookie never verifies as a session token, whatever the claims.
 */
export function deviceCookies(
  tokenKey: Uint8Array,
  generation: () => Promise<string | undefined>,
): DeviceCookies {
  const key = createHmac('sha256', tokenKey).update('liveinsight device cookie').digest()
  return {
    async issue(now) {
      const issuedAt = Math.floor(now / 1000)
      return new SignJWT({ [GENERATION_CLAIM]: await generation() })
        .setProtectedHeader({ alg: 'HS256', typ: TYPE })
        .setSubject(SUBJECT)
        .setJti(randomBytes(12).toString('base64url'))
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + DEVICE_TTL_S)
        .sign(key)
    },
    async nonce(cookie, now) {
      // Well over a real one (about 250 characters): not worth a signature check.
      if (!cookie || cookie.length > 1024) return undefined
      try {
        const { payload } = await jwtVerify(cookie, key, {
          algorithms: ['HS256'],
          typ: TYPE,
          subject: SUBJECT,
          requiredClaims: ['exp', 'jti', GENERATION_CLAIM],
          currentDate: new Date(now),
        })
        if (payload[GENERATION_CLAIM] !== (await generation())) return undefined
        return payload.jti
      } catch {
        return undefined
      }
    },
  }
}
