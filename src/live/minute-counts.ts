export const MINUTE_MS = 60_000

/**
 * Counts per wall-clock minute for a sliding span of minutes. Memory is bounded by the span
 * (not by the event rate): a minute outside the span is neither counted nor kept.
 */
export class MinuteCounts {
  private readonly counts = new Map<number, number>()

  /**
   * @param minutes how many minutes are kept, the current one included
   * @param aheadMinutes how far in the future a minute may be (accept allows slight clock skew)
   */
  constructor(
    private readonly minutes: number,
    private readonly aheadMinutes: number,
  ) {}

  add(timestamp: number, now: number, by = 1): void {
    const minute = Math.floor(timestamp / MINUTE_MS)
    const current = Math.floor(now / MINUTE_MS)
    if (minute <= current - this.minutes || minute > current + this.aheadMinutes) return
    this.counts.set(minute, (this.counts.get(minute) ?? 0) + by)
  }

  /** The last `count` minutes ending with the current one, oldest first, zero-filled. */
  series(now: number, count = this.minutes): number[] {
    const current = Math.floor(now / MINUTE_MS)
    return Array.from({ length: count }, (_, i) => this.counts.get(current - count + 1 + i) ?? 0)
  }

  /** Forgets minutes that have left the span. */
  prune(now: number): void {
    const oldest = Math.floor(now / MINUTE_MS) - this.minutes + 1
    for (const minute of this.counts.keys()) if (minute < oldest) this.counts.delete(minute)
  }

  get size(): number {
    return this.counts.size
  }
}
