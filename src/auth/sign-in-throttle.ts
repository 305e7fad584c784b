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

export interface SignInThrottleOptions {
  /** Failures an address may make before it has to wait (5). */
  freeFailures?: number
  /** The wait after the last free failure (1 min); each further failure doubles it. */
  baseDelayMs?: number
  /** The longest wait (15 min). */
  maxDelayMs?: number
  /** An address's failures are forgotten after this long without one (1 h). */
  forgetMs?: number
  /** Addresses the table holds at most (10,000). */
  maxEntries?: number
  /** Failures from all addresses together within `globalWindowMs` that mean a spike (100). */
  globalThreshold?: number
  /** The window the global count covers, in whole minutes (15 min). */
  globalWindowMs?: number
  /** During a spike, one attempt from anywhere per this long (10 s). */
  globalIntervalMs?: number
}

interface AddressEntry {
  failures: number
  /** The address may not try again before this. */
  lockedUntil: number
  /** Its last failure (its last reserved attempt). */
  lastAt: number
}

/**
 * Sign-in attempts per client address, in memory (one process, one door).
 *
 * Progressive delays: an address may fail `freeFailures` times; then each failure makes it
 * wait before its next attempt, a wait that doubles with every further failure (1, 2, 4, 8,
 * then 15 minutes at most), and its failures are forgotten after an hour without one or at a
 * success. Why not a fixed 15-minute lockout: behind a shared address (an office, a carrier's
 * NAT, a proxy without TRUST_PROXY) five wrong guesses by anyone locked the owner out for 15
 * minutes; now a few stray failures cost a minute, and only someone who keeps guessing keeps
 * the address waiting, at no more than a guess per 15 minutes (about 100 a day, where the
 * fixed window allowed 480). The right password never lifts a wait: if it did, an attacker
 * could keep guessing through a lockout and tell the right password by the answer (200
 * rather than 429), which makes the lockout an oracle.
 *
 * Global slow-down: many addresses (a botnet) each staying within their own allowance still
 * add up. When failures from all addresses within `globalWindowMs` reach `globalThreshold`,
 * only one attempt from anywhere is admitted per `globalIntervalMs` until the count falls
 * back; the owner may then wait a few seconds to sign in, and tokens already issued keep
 * working.
 *
 * The table holds at most `maxEntries` addresses. A full table makes room by dropping, in
 * this order, addresses whose failures are forgotten, then the least recently active
 * addresses that are not waiting; it never drops a live lockout (clearing the whole table
 * when it filled let anyone lift every lockout by failing from enough addresses). When every
 * entry is a live lockout a new address is refused until the first of them ends: under such a
 * flood failing closed is the safe side.
 */
export class MemorySignInThrottle implements SignInThrottle {
  /** In order of last activity, least recent first (an entry is moved to the end on use). */
  private readonly addresses = new Map<string, AddressEntry>()
  private readonly freeFailures: number
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly forgetMs: number
  private readonly maxEntries: number
  private readonly globalThreshold: number
  private readonly globalIntervalMs: number
  /** No entry is forgotten before this (a full table looks for forgotten ones only then). */
  private nextForgetAt = 0
  /** Until then every entry of a full table is a live lockout. */
  private allLockedUntil = 0
  /** Failures from all addresses, per minute, the last `recent.length` minutes. */
  private readonly recent: number[]
  private recentMinute = 0
  /** During a spike, no attempt from anywhere before this. */
  private globalNextAt = 0

  constructor(options: SignInThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5
    this.baseDelayMs = options.baseDelayMs ?? 60_000
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000
    this.forgetMs = options.forgetMs ?? 60 * 60_000
    this.maxEntries = options.maxEntries ?? 10_000
    this.globalThreshold = options.globalThreshold ?? 100
    this.globalIntervalMs = options.globalIntervalMs ?? 10_000
    this.recent = new Array<number>(
      Math.max(1, Math.round((options.globalWindowMs ?? 15 * 60_000) / 60_000)),
    ).fill(0)
  }

  async reserve(ip: string, now: number): Promise<Reservation> {
    this.advanceMinutes(now)
    let entry = this.addresses.get(ip)
    if (entry && this.forgotten(entry, now)) {
      this.addresses.delete(ip)
      entry = undefined
    }
    if (entry && entry.lockedUntil > now) return refuse(entry.lockedUntil, now)
    if (this.spiking() && this.globalNextAt > now) return refuse(this.globalNextAt, now)
    if (!entry) {
      const lockedUntil = this.makeRoom(now)
      if (lockedUntil !== undefined) return refuse(lockedUntil, now)
      entry = { failures: 0, lockedUntil: 0, lastAt: now }
    }
    entry.failures += 1
    entry.lastAt = now
    const over = entry.failures - this.freeFailures
    if (over >= 0) {
      entry.lockedUntil = now + Math.min(this.baseDelayMs * 2 ** over, this.maxDelayMs)
    }
    this.addresses.delete(ip)
    this.addresses.set(ip, entry)
    this.countFailure(now, 1)
    if (this.spiking()) this.globalNextAt = now + this.globalIntervalMs
    return { ok: true }
  }

  async succeeded(ip: string, now: number): Promise<void> {
    this.addresses.delete(ip)
    this.advanceMinutes(now)
    this.countFailure(now, -1)
  }

  private forgotten(entry: AddressEntry, now: number): boolean {
    return entry.lockedUntil <= now && now - entry.lastAt >= this.forgetMs
  }

  private spiking(): boolean {
    let total = 0
    for (const count of this.recent) total += count
    return total >= this.globalThreshold
  }

  /** Moves the per-minute window on to `now`, emptying the minutes it passes. */
  private advanceMinutes(now: number): void {
    const minute = Math.floor(now / 60_000)
    // A clock that went back counts into the current minute.
    if (minute <= this.recentMinute) return
    const passed = Math.min(minute - this.recentMinute, this.recent.length)
    for (let i = 1; i <= passed; i++) this.recent[(this.recentMinute + i) % this.recent.length] = 0
    this.recentMinute = minute
  }

  private countFailure(now: number, delta: number): void {
    const slot = Math.max(this.recentMinute, Math.floor(now / 60_000)) % this.recent.length
    this.recent[slot] = Math.max(0, (this.recent[slot] ?? 0) + delta)
  }

  /** Room for one more address; when there is none, when the first lockout ends. */
  private makeRoom(now: number): number | undefined {
    if (this.addresses.size < this.maxEntries) return undefined
    // Every entry was a live lockout at the last look, and none ends before this.
    if (now < this.allLockedUntil) return this.allLockedUntil
    // An entry's last failure only moves later, and a new one's is now: no sweep can find
    // anything forgotten before the earliest time the last sweep saw.
    if (now >= this.nextForgetAt) {
      let next = Number.POSITIVE_INFINITY
      for (const [ip, entry] of this.addresses) {
        if (this.forgotten(entry, now)) this.addresses.delete(ip)
        else next = Math.min(next, Math.max(entry.lastAt + this.forgetMs, entry.lockedUntil))
      }
      this.nextForgetAt = next
      if (this.addresses.size < this.maxEntries) return undefined
    }
    // The least recently active address that is not waiting. Lockouts met on the way go to
    // the back, so the next search does not walk them again.
    let firstEnd = Number.POSITIVE_INFINITY
    let left = this.addresses.size
    for (const [ip, entry] of this.addresses) {
      if (left-- === 0) break
      this.addresses.delete(ip)
      if (entry.lockedUntil <= now) return undefined
      this.addresses.set(ip, entry)
      firstEnd = Math.min(firstEnd, entry.lockedUntil)
    }
    this.allLockedUntil = firstEnd
    return firstEnd
  }
}

function refuse(until: number, now: number): Reservation {
  return { ok: false, retryAfterS: Math.max(1, Math.ceil((until - now) / 1000)) }
}
