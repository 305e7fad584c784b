import type { AttemptRecord, PutResult, SignInAttempts } from './sign-in-attempts.ts'

export interface MemorySignInAttemptsOptions {
  /** Records the table holds at most (10,000): one per address or device cookie that tried. */
  maxEntries?: number
  /** Minutes of untrusted failure counts kept (60): at least the rules' global window. */
  keepMinutes?: number
}

/**
 * The sign-in lockout's state in this process's memory: the embedded shape's, where one
 * process is the only door.
 *
 * Its one worry of its own is size: every client address and device cookie that tries gets a
 * record. A full table makes room by dropping, in this order, forgotten records, then the
 * least recently written records that are not locked; it never drops a live lockout (clearing
 * the whole table when it filled let anyone lift every lockout by failing from enough
 * addresses). When every record is a live lockout a new key is refused until the first of
 * them ends: under such a flood failing closed is the safe side.
 */
export class MemorySignInAttempts implements SignInAttempts {
  /** In order of last write, least recent first (a record is moved to the end on write). */
  private readonly records = new Map<string, AttemptRecord>()
  private readonly minutes = new Map<number, number>()
  private readonly maxEntries: number
  private readonly keepMinutes: number
  /** No record is forgotten before this (a full table looks for forgotten ones only then). */
  private nextForgetAt = 0
  /** Until then every record of a full table is a live lockout. */
  private allLockedUntil = 0

  constructor(options: MemorySignInAttemptsOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.keepMinutes = options.keepMinutes ?? 60
  }

  async get(key: string, now: number): Promise<AttemptRecord | undefined> {
    return this.live(key, now)
  }

  async put(
    key: string,
    seen: AttemptRecord | undefined,
    next: AttemptRecord,
    now: number,
  ): Promise<PutResult> {
    // Records are never changed in place, so the one read is the one stored until a write.
    if (this.live(key, now) !== seen) return { ok: false, changed: true }
    if (!this.records.has(key)) {
      const fullUntil = this.makeRoom(now)
      if (fullUntil !== undefined) return { ok: false, fullUntil }
    }
    this.records.delete(key)
    this.records.set(key, next)
    return { ok: true }
  }

  async delete(key: string): Promise<void> {
    this.records.delete(key)
  }

  async addFailures(minute: number, delta: number): Promise<void> {
    this.minutes.set(minute, Math.max(0, (this.minutes.get(minute) ?? 0) + delta))
    for (const old of this.minutes.keys()) {
      if (old <= minute - this.keepMinutes) this.minutes.delete(old)
    }
  }

  async failuresIn(from: number, to: number): Promise<number> {
    let total = 0
    for (const [minute, count] of this.minutes) if (minute >= from && minute <= to) total += count
    return total
  }

  private live(key: string, now: number): AttemptRecord | undefined {
    const record = this.records.get(key)
    if (!record || record.expiresAt > now) return record
    this.records.delete(key)
    return undefined
  }

  /** Room for one more record; when there is none, when the first lockout ends. */
  private makeRoom(now: number): number | undefined {
    if (this.records.size < this.maxEntries) return undefined
    // Every record was a live lockout at the last look, and none ends before this.
    if (now < this.allLockedUntil) return this.allLockedUntil
    // Sweeping is skipped until the earliest expiry the last sweep saw: walking 10,000
    // records on every new key of a flood would be the cost. A record written since that
    // expires sooner is missed only for a while, and, not being locked, the next step may
    // drop it anyway.
    if (now >= this.nextForgetAt) {
      let next = Number.POSITIVE_INFINITY
      for (const [key, record] of this.records) {
        if (record.expiresAt <= now) this.records.delete(key)
        else next = Math.min(next, record.expiresAt)
      }
      this.nextForgetAt = next
      if (this.records.size < this.maxEntries) return undefined
    }
    // The least recently written record that is not locked. Lockouts met on the way go to
    // the back, so the next search does not walk them again.
    let firstEnd = Number.POSITIVE_INFINITY
    let left = this.records.size
    for (const [key, record] of this.records) {
      if (left-- === 0) break
      this.records.delete(key)
      if (record.lockedUntil <= now) return undefined
      this.records.set(key, record)
      firstEnd = Math.min(firstEnd, record.lockedUntil)
    }
    this.allLockedUntil = firstEnd
    return firstEnd
  }
}
