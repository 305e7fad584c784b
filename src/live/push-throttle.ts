/**
 * Coalesces push requests so a client gets at most one push per `gapMs`, yet never waits
 * longer than `gapMs` after a request: a request inside the gap schedules one push for when
 * the gap is over, and further requests until then ride along with it. Pushes never overlap;
 * a request during a push schedules the next one. Uses real time, not the data clock.
 */
export class PushThrottle {
  private last = Number.NEGATIVE_INFINITY
  private timer: ReturnType<typeof setTimeout> | undefined
  private sending = false
  private requestedWhileSending = false
  private closed = false

  constructor(
    private readonly push: () => Promise<void>,
    private readonly gapMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  request(): void {
    if (this.closed || this.timer) return
    if (this.sending) {
      this.requestedWhileSending = true
      return
    }
    // Even a due push waits for a timer turn: requests come from inside the accept path, which
    // must not pay for building and writing snapshots.
    const wait = Math.max(0, this.last + this.gapMs - this.clock())
    this.timer = setTimeout(() => void this.fire(), wait)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private async fire(): Promise<void> {
    this.timer = undefined
    if (this.closed) return
    this.sending = true
    this.last = this.clock()
    try {
      await this.push()
    } catch {
      // A failed write means the client is gone; its abort handler closes this throttle.
    } finally {
      this.sending = false
    }
    if (this.requestedWhileSending) {
      this.requestedWhileSending = false
      this.request()
    }
  }
}
