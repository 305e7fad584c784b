/**
 * Failed sign-ins per client IP: after `maxFailures` within `windowMs` that IP is refused
 * until the window ends. A success clears the count. In memory: one process, one door.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; resetAt: number }>()

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  /** Seconds until this IP may try again, or 0 when it may try now. */
  retryAfter(ip: string, now: number): number {
    const entry = this.failures.get(ip)
    if (!entry || entry.resetAt <= now) return 0
    return entry.count >= this.maxFailures ? Math.ceil((entry.resetAt - now) / 1000) : 0
  }

  fail(ip: string, now: number): void {
    const entry = this.failures.get(ip)
    if (!entry || entry.resetAt <= now) {
      if (this.failures.size > 10_000) this.failures.clear()
      this.failures.set(ip, { count: 1, resetAt: now + this.windowMs })
    } else {
      entry.count += 1
    }
  }

  succeed(ip: string): void {
    this.failures.delete(ip)
  }
}
