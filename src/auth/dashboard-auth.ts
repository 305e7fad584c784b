import { randomBytes } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import { addressKey } from '../limits/rate-limiter.ts'
import type { Settings } from '../storage/store.ts'
import { deviceCookies } from './device-cookie.ts'
import { hashPassword, verifyPassword } from './password-hash.ts'
import type { SignInAttempts } from './sign-in-attempts.ts'
import { type SignInClient, SignInThrottle } from './sign-in-throttle.ts'

export const TOKEN_TTL_S = 12 * 3600
const PASSWORD_SETTING = 'admin_password_hash'
const SECRET_SETTING = 'token_signing_key'
/**
 * The token generation: every token carries the one current when it was issued (claim
 * `gen`), and only tokens of the current one are accepted. A new generation (a random id, so
 * it never repeats an old one) revokes every token issued before: when ADMIN_PASSWORD
 * changes. Kept in the store, so it survives a restart and every process that shares the
 * store agrees. Device cookies carry it too, so a new password also ends their trust.
 */
const GENERATION_SETTING = 'token_generation'
const GENERATION_CLAIM = 'gen'
const newGeneration = () => randomBytes(9).toString('base64url')
/**
 * Signed-out tokens, by id (claim `jti`), each until it would have expired: a JSON object
 * { jti: exp } in one setting. Small (an entry per sign-out within the last 12 hours, and
 * only a signed-in caller can add one), and in the store for the same reasons.
 */
const REVOKED_SETTING = 'revoked_tokens'

export type LoginResult =
  | { ok: true; token: string; expiresAt: number; deviceCookie: string }
  | { ok: false; reason: 'no_password' }
  | { ok: false; reason: 'wrong_password' }
  | { ok: false; reason: 'rate_limited'; retryAfterS: number }

/** What the HTTP layer needs of dashboard sign-in. */
export interface DashboardAuth {
  /**
   * Signs in from `ip`, with the device cookie the browser sent, if any: a valid one has an
   * allowance of attempts of its own (sign-in-throttle.ts), and every success answers a new
   * one. The password is asked for (`readPassword`, which reads the request body) only once
   * the client may try: a locked-out client's body is never read, so a lockout costs the
   * server no more than the request's headers. `readPassword` answers undefined when the body
   * holds no usable password, and may throw (a 413 for a body over the cap).
   */
  login(
    from: { ip: string; deviceCookie?: string | undefined },
    readPassword: () => Promise<string | undefined>,
  ): Promise<LoginResult>
  /** True when the token is a valid, unexpired dashboard token of the current generation. */
  verifyToken(token: string): Promise<boolean>
  /**
   * Sign-out: revokes this token, when it is a valid one, and answers whether it was. Only
   * this one: the admin's other browsers and scripts stay signed in.
   */
  signOut(token: string): Promise<boolean>
  /**
   * Calls `listener` with each token this process revokes (a sign-out), so what a token
   * keeps open (a live stream) ends at once rather than at its next check.
   */
  onRevoke(listener: (token: string) => void): () => void
}

export interface DashboardAuthSetup {
  auth: DashboardAuth
  /** Set only on the start that generated the password: it is shown once, never stored. */
  generatedPassword?: string
}

/**
 * One admin password (ADMIN_PASSWORD, or generated on first start and kept only as an
 * scrypt hash) and HS256 tokens signed with a key generated once and kept in storage.
 */
export async function createDashboardAuth(
  store: Settings,
  options: { adminPassword?: string; now: () => number; signInAttempts?: SignInAttempts },
): Promise<DashboardAuthSetup> {
  const key = new TextEncoder().encode(
    await store.initSetting(SECRET_SETTING, randomBytes(32).toString('base64url')),
  )
  await store.initSetting(GENERATION_SETTING, newGeneration())
  let generatedPassword: string | undefined
  let passwordHash = await store.getSetting(PASSWORD_SETTING)
  if (options.adminPassword) {
    if (!passwordHash || !(await verifyPassword(options.adminPassword, passwordHash))) {
      passwordHash = await hashPassword(options.adminPassword)
      await store.putSetting(PASSWORD_SETTING, passwordHash)
      // A changed password is often a leaked one: whoever holds a token made with the old
      // one must sign in again.
      await store.putSetting(GENERATION_SETTING, newGeneration())
    }
  } else if (!passwordHash) {
    generatedPassword = randomBytes(12).toString('base64url')
    passwordHash = await store.initSetting(PASSWORD_SETTING, await hashPassword(generatedPassword))
  }
  const storedHash = passwordHash
  const throttle = new SignInThrottle(
    options.signInAttempts ? { attempts: options.signInAttempts } : {},
  )
  const devices = deviceCookies(key, () => store.getSetting(GENERATION_SETTING))

  // The revoked list, parsed again only when the stored text changed.
  let revokedText: string | undefined
  let revoked = new Map<string, number>()
  const revokedTokens = async () => {
    const text = await store.getSetting(REVOKED_SETTING)
    if (text !== revokedText) {
      revoked = new Map(Object.entries(text ? (JSON.parse(text) as Record<string, number>) : {}))
      revokedText = text
    }
    return revoked
  }
  // Sign-outs in this process one after the other: each rewrites the list it read.
  let revoking = Promise.resolve()
  const revokeListeners = new Set<(token: string) => void>()

  /** The claims of a valid token: signed, unexpired, of this generation, not signed out. */
  const validClaims = async (token: string) => {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        subject: 'admin',
        // jose checks exp only when the token has one: a token without it would never end.
        requiredClaims: ['exp', 'iat', 'jti', GENERATION_CLAIM],
        currentDate: new Date(options.now()),
      })
      // Read at each request (indexed rows), so a sign-out or a new password in any process
      // that shares the store counts at once.
      if (payload[GENERATION_CLAIM] !== (await store.getSetting(GENERATION_SETTING))) return
      if (!payload.jti || (await revokedTokens()).has(payload.jti)) return
      return { jti: payload.jti, exp: payload.exp as number }
    } catch {
      return undefined
    }
  }

  const auth: DashboardAuth = {
    async login(from, readPassword) {
      const now = options.now()
      // By network for IPv6, as the rate limit counts: one host commonly holds a whole /64
      // and could guess from a fresh address every time.
      const client: SignInClient = { address: addressKey(from.ip) }
      const device = await devices.nonce(from.deviceCookie, now)
      if (device !== undefined) client.device = device
      // Counted before the body is read and the password checked: whatever happens next
      // (a bad body, a wrong password, a client gone) it was an attempt; only success gives
      // it back.
      const reservation = await throttle.reserve(client, now)
      if (!reservation.ok) {
        return { ok: false, reason: 'rate_limited', retryAfterS: reservation.retryAfterS }
      }
      const password = await readPassword()
      if (password === undefined) return { ok: false, reason: 'no_password' }
      if (!(await verifyPassword(password, storedHash)))
        return { ok: false, reason: 'wrong_password' }
      await throttle.succeeded(client, now)
      const issuedAt = Math.floor(now / 1000)
      const generation = await store.getSetting(GENERATION_SETTING)
      const token = await new SignJWT({ role: 'admin', [GENERATION_CLAIM]: generation })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('admin')
        .setJti(randomBytes(12).toString('base64url'))
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + TOKEN_TTL_S)
        .sign(key)
      const deviceCookie = await devices.issue(now)
      return { ok: true, token, expiresAt: (issuedAt + TOKEN_TTL_S) * 1000, deviceCookie }
    },
    async verifyToken(token) {
      return (await validClaims(token)) !== undefined
    },
    async signOut(token) {
      const claims = await validClaims(token)
      if (!claims) return false
      const revoke = revoking.then(async () => {
        const nowS = options.now() / 1000
        const kept = [...(await revokedTokens())].filter(([, exp]) => exp > nowS)
        kept.push([claims.jti, claims.exp])
        await store.putSetting(REVOKED_SETTING, JSON.stringify(Object.fromEntries(kept)))
      })
      revoking = revoke.catch(() => {})
      await revoke
      for (const listener of revokeListeners) listener(token)
      return true
    },
    onRevoke(listener) {
      revokeListeners.add(listener)
      return () => revokeListeners.delete(listener)
    },
  }
  return generatedPassword ? { auth, generatedPassword } : { auth }
}
