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
 */
export class MemorySignInThrottle implements SignInThrottle {
  private readonly failures = new Map<string, { count: number; resetAt: number }>()

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  async reserve(ip: string, now: number): Promise<Reservation> {
    let entry = this.failures.get(ip)
    if (!entry || entry.resetAt <= now) {
      if (this.failures.size > 10_000) this.failures.clear()
      entry = { count: 0, resetAt: now + this.windowMs }
      this.failures.set(ip, entry)
    }
    if (entry.count >= this.maxFailures) {
      return { ok: false, retryAfterS: Math.ceil((entry.resetAt - now) / 1000) }
    }
    entry.count += 1
    return { ok: true }
  }

  async succeeded(ip: string): Promise<void> {
    this.failures.delete(ip)
  }
}
