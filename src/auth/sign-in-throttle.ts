/** Whether a sign-in attempt may go ahead, and if not, in how many seconds it may. */
export type Reservation = { ok: true } | { ok: false; retryAfterS: number }

/**
 * The sign-in lockout, behind an interface so a backend can keep it elsewhere (a store shared
 * by several processes). An attempt is counted as a failure when it is reserved, before the
 * password is checked: the check (scrypt) takes tens of milliseconds, and counting only after
 * it let any number of concurrent guesses through before the first one was counted.
 */
export interface SignInThrottle {
  /** Reserves one attempt for `ip`, counted as a failure, or refuses it. */
  reserve(ip: string, now: number): Promise<Reservation>
  /** The reserved attempt was the right password: gives it back and forgets the failures. */
  succeeded(ip: string, now: number): Promise<void>
}

/**
 * Failed sign-ins per client IP, in memory (one process, one door): after `maxFailures`
 * attempts within `windowMs` that IP is refused until the window ends.
 *
 * The table holds at most `maxEntries` addresses. A full table makes room by dropping, in
 * this order, entries whose window has ended, then the least recently active addresses that
 * are not locked out; it never drops a live lockout (clearing the whole table when it filled
 * let anyone lift every lockout by failing from enough addresses). When every entry is a live
 * lockout a new address is refused until the first of them ends: under such a flood failing
 * closed is the safe side.
 */
export class MemorySignInThrottle implements SignInThrottle {
  /** In order of last activity, least recent first (an entry is moved to the end on use). */
  private readonly failures = new Map<string, { count: number; resetAt: number }>()
  private readonly maxFailures: number
  private readonly windowMs: number
  private readonly maxEntries: number
  /** No entry's window ends before this (a full table looks for ended ones only then). */
  private nextWindowEnd = 0
  /** Until then every entry of a full table is a live lockout. */
  private allLockedUntil = 0

  constructor(options: { maxFailures?: number; windowMs?: number; maxEntries?: number } = {}) {
    this.maxFailures = options.maxFailures ?? 5
    this.windowMs = options.windowMs ?? 15 * 60_000
    this.maxEntries = options.maxEntries ?? 10_000
  }

  async reserve(ip: string, now: number): Promise<Reservation> {
    let entry = this.failures.get(ip)
    if (entry && entry.resetAt <= now) {
      this.failures.delete(ip)
      entry = undefined
    }
    if (entry && entry.count >= this.maxFailures) return this.refuse(entry.resetAt, now)
    if (!entry) {
      const lockedUntil = this.makeRoom(now)
      if (lockedUntil !== undefined) return this.refuse(lockedUntil, now)
      entry = { count: 0, resetAt: now + this.windowMs }
    }
    entry.count += 1
    this.failures.delete(ip)
    this.failures.set(ip, entry)
    return { ok: true }
  }

  async succeeded(ip: string): Promise<void> {
    this.failures.delete(ip)
  }

  /** Room for one more address; when there is none, when the first lockout ends. */
  private makeRoom(now: number): number | undefined {
    if (this.failures.size < this.maxEntries) return undefined
    // Every entry was a live lockout at the last look, and none ends before this.
    if (now < this.allLockedUntil) return this.allLockedUntil
    // Windows have one length, so an entry added later never ends before the ones already
    // here: no sweep can find anything to drop before the earliest end the last one saw.
    if (now >= this.nextWindowEnd) {
      let next = Number.POSITIVE_INFINITY
      for (const [ip, entry] of this.failures) {
        if (entry.resetAt <= now) this.failures.delete(ip)
        else next = Math.min(next, entry.resetAt)
      }
      this.nextWindowEnd = next
      if (this.failures.size < this.maxEntries) return undefined
    }
    // The least recently active address that is not locked out. Lockouts met on the way go
    // to the back, so the next search does not walk them again.
    let firstEnd = Number.POSITIVE_INFINITY
    let left = this.failures.size
    for (const [ip, entry] of this.failures) {
      if (left-- === 0) break
      this.failures.delete(ip)
      if (entry.count < this.maxFailures) return undefined
      this.failures.set(ip, entry)
      firstEnd = Math.min(firstEnd, entry.resetAt)
    }
    this.allLockedUntil = firstEnd
    return firstEnd
  }

  private refuse(until: number, now: number): Reservation {
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((until - now) / 1000)) }
  }
}
