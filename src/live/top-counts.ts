/**
 * Approximate counts of the most frequent values in at most `capacity` entries (the
 * Space-Saving algorithm, Metwally et al. 2005): a new value past capacity takes the place of
 * the least counted one and inherits its count, so a value's count is never under its true
 * count and over it by at most the smallest count kept.
 */
export class TopCounts {
  private readonly counts = new Map<string, number>()

  constructor(private readonly capacity = 100) {}

  add(value: string, by = 1): void {
    const known = this.counts.get(value)
    if (known !== undefined || this.counts.size < this.capacity) {
      this.counts.set(value, (known ?? 0) + by)
      return
    }
    let least: string | undefined
    let leastCount = Number.POSITIVE_INFINITY
    for (const [v, c] of this.counts) {
      if (c < leastCount) {
        least = v
        leastCount = c
      }
    }
    if (least !== undefined) this.counts.delete(least)
    this.counts.set(value, leastCount + by)
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries()
  }
}
