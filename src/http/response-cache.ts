/**
 * A small in-process cache of computed answers (stats may be 30 s old). Bounded: when full,
 * the oldest entry goes. With `ttlMs` 0 nothing is kept.
 */
export class ResponseCache<T> {
  private readonly entries = new Map<string, { until: number; value: Promise<T> }>()

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 500,
  ) {}

  /** The cached value for `key`, or `compute()`'s, shared by concurrent callers. */
  get(key: string, compute: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return compute()
    const now = this.now()
    const hit = this.entries.get(key)
    if (hit && hit.until > now) return hit.value
    const value = compute()
    value.catch(() => this.entries.delete(key))
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { until: now + this.ttlMs, value })
    return value
  }

  /** Drops every answer: after a change no version key sees (a user's data deleted). */
  clear(): void {
    this.entries.clear()
  }
}
