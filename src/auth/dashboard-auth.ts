import { randomBytes } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import type { Store } from '../storage/store.ts'
import { hashPassword, verifyPassword } from './password-hash.ts'
import { MemorySignInThrottle, type SignInThrottle } from './sign-in-throttle.ts'

export const TOKEN_TTL_S = 12 * 3600
const PASSWORD_SETTING = 'admin_password_hash'
const SECRET_SETTING = 'token_signing_key'
/**
 * The token generation: every token carries the one current when it was issued (claim
 * `gen`), and only tokens of the current one are accepted. A new generation (a random id, so
 * it never repeats an old one) revokes every token issued before: on sign-out and when
 * ADMIN_PASSWORD changes. Kept in the store, so it survives a restart and every process that
 * shares the store agrees.
 */
const GENERATION_SETTING = 'token_generation'
const GENERATION_CLAIM = 'gen'
const newGeneration = () => randomBytes(9).toString('base64url')

export type LoginResult =
  | { ok: true; token: string; expiresAt: number }
  | { ok: false; reason: 'no_password' }
  | { ok: false; reason: 'wrong_password' }
  | { ok: false; reason: 'rate_limited'; retryAfterS: number }

/** What the HTTP layer needs of dashboard sign-in. */
export interface DashboardAuth {
  /**
   * Signs in from `ip`. The password is asked for (`readPassword`, which reads the request
   * body) only once the address may try: a locked-out client's body is never read, so a
   * lockout costs the server no more than the request's headers. `readPassword` answers
   * undefined when the body holds no usable password, and may throw (a 413 for a body over
   * the cap).
   */
  login(ip: string, readPassword: () => Promise<string | undefined>): Promise<LoginResult>
  /** True when the token is a valid, unexpired dashboard token of the current generation. */
  verifyToken(token: string): Promise<boolean>
  /** Revokes every token issued so far (sign-out: there is one admin, signed out everywhere). */
  revokeTokens(): Promise<void>
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
  store: Store,
  options: { adminPassword?: string; now: () => number; throttle?: SignInThrottle },
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
  const throttle = options.throttle ?? new MemorySignInThrottle()

  const auth: DashboardAuth = {
    async login(ip, readPassword) {
      const now = options.now()
      // Counted before the body is read and the password checked: whatever happens next
      // (a bad body, a wrong password, a client gone) it was an attempt; only success gives
      // it back.
      const reservation = await throttle.reserve(ip, now)
      if (!reservation.ok) {
        return { ok: false, reason: 'rate_limited', retryAfterS: reservation.retryAfterS }
      }
      const password = await readPassword()
      if (password === undefined) return { ok: false, reason: 'no_password' }
      if (!(await verifyPassword(password, storedHash)))
        return { ok: false, reason: 'wrong_password' }
      await throttle.succeeded(ip, now)
      const issuedAt = Math.floor(now / 1000)
      const generation = await store.getSetting(GENERATION_SETTING)
      const token = await new SignJWT({ role: 'admin', [GENERATION_CLAIM]: generation })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('admin')
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + TOKEN_TTL_S)
        .sign(key)
      return { ok: true, token, expiresAt: (issuedAt + TOKEN_TTL_S) * 1000 }
    },
    async verifyToken(token) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          subject: 'admin',
          // jose checks exp only when the token has one: a token without it would never end.
          requiredClaims: ['exp', 'iat', GENERATION_CLAIM],
          currentDate: new Date(options.now()),
        })
        // Read at each request (one indexed row), so a sign-out in any process counts at once.
        return payload[GENERATION_CLAIM] === (await store.getSetting(GENERATION_SETTING))
      } catch {
        return false
      }
    },
    async revokeTokens() {
      await store.putSetting(GENERATION_SETTING, newGeneration())
    },
  }
  return generatedPassword ? { auth, generatedPassword } : { auth }
}
