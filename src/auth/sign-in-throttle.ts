import { MemorySignInAttempts } from './memory-sign-in-attempts.ts'
import type { AttemptRecord, SignInAttempts } from './sign-in-attempts.ts'

/** Whether a sign-in attempt may go ahead, and if not, in how many seconds it may. */
export type Reservation = { ok: true } | { ok: false; retryAfterS: number }

/**
 * Who is trying: the client address (`addressKey`: an IPv6 /64 as one), and the nonce of the
 * valid device cookie it presented, if any.
 */
export interface SignInClient {
  address: string
  device?: string
}

export interface SignInThrottleOptions {
  /** Where the counts are kept (this process's memory unless given). */
  attempts?: SignInAttempts
  /** Failures an address, or a device cookie, may make before it has to wait (5). */
  freeFailures?: number
  /** The wait after the last free failure (1 min); each further failure doubles it. */
  baseDelayMs?: number
  /** The longest wait (15 min). */
  maxDelayMs?: number
  /** Failures are forgotten after this long without one (1 h). */
  forgetMs?: number
  /** Untrusted failures from all addresses within `globalWindowMs` that mean a spike (100). */
  globalThreshold?: number
  /** The window the global count covers, in whole minutes (15 min). */
  globalWindowMs?: number
  /** During a spike, one untrusted attempt from anywhere per this long (10 s). */
  globalIntervalMs?: number
}

const NEXT_UNTRUSTED = 'untrusted:next'
/** Concurrent attempts on one key retry a lost compare-and-set this often, then are refused. */
const MAX_TRIES = 5

/**
 * The sign-in lockout's rules (its state is a SignInAttempts). An attempt is counted as a
 * failure when it is reserved, before the password is checked: the check (scrypt) takes tens
 * of milliseconds, and counting only after it let any number of concurrent guesses through
 * before the first one was counted. Only a success gives it back.
 *
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
 * that signed in before presents one, and its attempts count against that cookie alone
 * (`device:<nonce>`), not its address nor the spike below. A flood of guesses from rotating
 * addresses therefore slows every untrusted client but never the owner's own browsers; and a
 * stolen device cookie buys its thief one budget, locked out like an address's. A locked
 * device cookie is refused rather than tried as untrusted: the client can always drop it to
 * be untrusted, so refusing costs nothing and keeps the two budgets from adding up.
 *
 * Untrusted clients (no valid device cookie) count per address (`addr:<addressKey>`):
 *
 * Progressive delays: a key may fail `freeFailures` times; then each failure makes it wait
 * before its next attempt, a wait that doubles with every further failure (1, 2, 4, 8, then
 * 15 minutes at most), and its failures are forgotten after an hour without one or at a
 * success. Why not a fixed 15-minute lockout: behind a shared address (an office, a carrier's
 * NAT, a proxy without TRUST_PROXY) five wrong guesses by anyone locked the owner out for 15
 * minutes; now a few stray failures cost a minute, and only someone who keeps guessing keeps
 * the address waiting, at no more than a guess per 15 minutes (about 100 a day, where the
 * fixed window allowed 480). The right password never lifts a wait: if it did, an attacker
 * could keep guessing through a lockout and tell the right password by the answer (200
 * rather than 429), which makes the lockout an oracle.
 *
 * Global slow-down: many addresses (a botnet) each staying within their own allowance still
 * add up. When untrusted failures from all addresses within `globalWindowMs` reach
 * `globalThreshold`, only one untrusted attempt from anywhere is admitted per
 * `globalIntervalMs` until the count falls back. Tokens already issued, and browsers with a
 * device cookie, are not slowed.
 */
export class SignInThrottle {
  private readonly attempts: SignInAttempts
  private readonly freeFailures: number
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly forgetMs: number
  private readonly globalThreshold: number
  private readonly globalMinutes: number
  private readonly globalIntervalMs: number

  constructor(options: SignInThrottleOptions = {}) {
    this.attempts = options.attempts ?? new MemorySignInAttempts()
    this.freeFailures = options.freeFailures ?? 5
    this.baseDelayMs = options.baseDelayMs ?? 60_000
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000
    this.forgetMs = options.forgetMs ?? 60 * 60_000
    this.globalThreshold = options.globalThreshold ?? 100
    this.globalMinutes = Math.max(1, Math.round((options.globalWindowMs ?? 15 * 60_000) / 60_000))
    this.globalIntervalMs = options.globalIntervalMs ?? 10_000
  }

  /** Reserves one attempt for `client`, counted as a failure, or refuses it. */
  async reserve(client: SignInClient, now: number): Promise<Reservation> {
    if (client.device !== undefined) return this.countFailure(`device:${client.device}`, now)
    const key = `addr:${client.address}`
    // A waiting address is refused before it can take the spike's one slot.
    const record = await this.attempts.get(key, now)
    if (record && record.lockedUntil > now) return refuse(record.lockedUntil, now)
    const spiking = await this.spiking(now)
    if (spiking) {
      const slot = await this.takeSlot(now)
      if (!slot.ok) return slot
    }
    const counted = await this.countFailure(key, now)
    if (!counted.ok) return counted
    await this.attempts.addFailures(minuteOf(now), 1)
    // The failure that starts a spike closes the door behind it.
    if (!spiking && (await this.spiking(now))) await this.takeSlot(now)
    return counted
  }

  /**
   * The reserved attempt was the right password: gives it back and forgets the failures of
   * the key it counted against. Not the address's after a device cookie's success: the
   * owner signing in from a shared address must not lift a lockout a guesser earned there.
   */
  async succeeded(client: SignInClient, now: number): Promise<void> {
    if (client.device !== undefined) {
      await this.attempts.delete(`device:${client.device}`)
      return
    }
    await this.attempts.delete(`addr:${client.address}`)
    await this.attempts.addFailures(minuteOf(now), -1)
  }

  /** One more failure against `key`, unless it must wait. */
  private async countFailure(key: string, now: number): Promise<Reservation> {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const record = await this.attempts.get(key, now)
      if (record && record.lockedUntil > now) return refuse(record.lockedUntil, now)
      const written = await this.attempts.put(key, record, this.afterFailure(record, now), now)
      if (written.ok) return written
      if ('fullUntil' in written) return refuse(written.fullUntil, now)
    }
    return refuse(now, now)
  }

  private afterFailure(record: AttemptRecord | undefined, now: number): AttemptRecord {
    const failures = (record?.failures ?? 0) + 1
    const over = failures - this.freeFailures
    const lockedUntil =
      over >= 0 ? now + Math.min(this.baseDelayMs * 2 ** over, this.maxDelayMs) : 0
    return { failures, lockedUntil, expiresAt: Math.max(lockedUntil, now + this.forgetMs) }
  }

  private async spiking(now: number): Promise<boolean> {
    const minute = minuteOf(now)
    const recent = await this.attempts.failuresIn(minute - this.globalMinutes + 1, minute)
    return recent >= this.globalThreshold
  }

  /** The spike's one untrusted attempt per interval, or when the next may come. */
  private async takeSlot(now: number): Promise<Reservation> {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const slot = await this.attempts.get(NEXT_UNTRUSTED, now)
      if (slot && slot.lockedUntil > now) return refuse(slot.lockedUntil, now)
      const nextAt = now + this.globalIntervalMs
      const next = { failures: 0, lockedUntil: nextAt, expiresAt: nextAt }
      const written = await this.attempts.put(NEXT_UNTRUSTED, slot, next, now)
      if (written.ok) return written
      if ('fullUntil' in written) return refuse(written.fullUntil, now)
    }
    return refuse(now, now)
  }
}

function minuteOf(now: number): number {
  return Math.floor(now / 60_000)
}

function refuse(until: number, now: number): Reservation {
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((until - now) / 1000)) }
}
