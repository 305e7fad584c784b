/**
 * Group commit: submissions that arrive within `maxWaitMs` of the first pending one (or
 * while a flush runs) are written together in one transaction, and each caller is answered
 * only after that transaction committed. Under load this turns thousands of tiny
 * transactions into a few large ones, at the price of at most `maxWaitMs` added latency.
 * With `maxWaitMs` 0 a group is what arrived in one turn of the event loop, plus whatever
 * arrived while the previous flush ran.
 */
export class GroupCommit<Item, Result> {
  private pending: Array<{
    items: Item[]
    resolve: (results: Result[]) => void
    reject: (error: unknown) => void
  }> = []
  private scheduled = false
  private flushing: Promise<void> | null = null

  constructor(
    private readonly flush: (items: Item[]) => Promise<Result[]>,
    private readonly options: {
      /** A group stops growing once it holds this much (a single submission may hold more). */
      maxItems: number
      maxWaitMs: number
      /** How much one item counts towards maxItems (default 1). */
      sizeOf?: (item: Item) => number
    } = { maxItems: 5000, maxWaitMs: 0 },
  ) {}

  submit(items: Item[]): Promise<Result[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ items, resolve, reject })
      this.schedule()
    })
  }

  /** Resolves once everything submitted so far has been flushed. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.flushing || this.scheduled) {
      await (this.flushing ?? new Promise((r) => setImmediate(r)))
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return
    this.scheduled = true
    const run = () => {
      this.scheduled = false
      this.flushing = this.flushPending().finally(() => {
        this.flushing = null
        if (this.pending.length > 0) this.schedule()
      })
    }
    // A commit costs about the same for 1 event as for 500 (it writes the touched pages
    // once), so a short wait that gathers concurrent requests multiplies throughput.
    if (this.options.maxWaitMs > 0) setTimeout(run, this.options.maxWaitMs)
    else setImmediate(run)
  }

  private async flushPending(): Promise<void> {
    const group: typeof this.pending = []
    let count = 0
    while (this.pending.length > 0 && (group.length === 0 || count < this.options.maxItems)) {
      const next = this.pending.shift() as (typeof this.pending)[number]
      group.push(next)
      const sizeOf = this.options.sizeOf
      for (const item of next.items) count += sizeOf ? sizeOf(item) : 1
    }
    try {
      const results = await this.flush(group.flatMap((g) => g.items))
      let offset = 0
      for (const g of group) {
        g.resolve(results.slice(offset, offset + g.items.length))
        offset += g.items.length
      }
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error)
        return
      }
      // One bad submission must not fail its neighbours: retry each on its own.
      for (const g of group) {
        await this.flush(g.items).then(g.resolve, g.reject)
      }
    }
  }
}
