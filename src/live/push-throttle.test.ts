import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PushThrottle } from './push-throttle.ts'

beforeEach(() => {
  vi.useFakeTimers({ now: 0 })
})
afterEach(() => {
  vi.useRealTimers()
})

/** A push that records when it ran and finishes at once. */
function recorder() {
  const at: number[] = []
  return { at, push: async () => void at.push(Date.now()) }
}

describe('PushThrottle', () => {
  it('pushes the first request at once and coalesces the next ones within the gap', async () => {
    const { at, push } = recorder()
    const throttle = new PushThrottle(push, 1000, () => Date.now())
    throttle.request()
    await vi.advanceTimersByTimeAsync(100)
    throttle.request()
    throttle.request()
    await vi.advanceTimersByTimeAsync(500)
    throttle.request()
    expect(at).toEqual([0])
    await vi.advanceTimersByTimeAsync(400) // t = 1000: one push for the three requests
    expect(at).toEqual([0, 1000])
    await vi.advanceTimersByTimeAsync(5000) // no request, no push
    expect(at).toEqual([0, 1000])
    throttle.request() // long after the last push: immediate
    await vi.advanceTimersByTimeAsync(0)
    expect(at).toEqual([0, 1000, 6000])
  })

  it('never overlaps pushes: a request during a slow push is served after it', async () => {
    const at: number[] = []
    let running = 0
    const throttle = new PushThrottle(
      async () => {
        running++
        expect(running).toBe(1)
        at.push(Date.now())
        await new Promise((resolve) => setTimeout(resolve, 1500))
        running--
      },
      1000,
      () => Date.now(),
    )
    throttle.request()
    await vi.advanceTimersByTimeAsync(200)
    throttle.request()
    await vi.advanceTimersByTimeAsync(3000)
    // The second push follows the first one's end (1500 ms), after one timer turn.
    expect(at).toHaveLength(2)
    expect(at[1]).toBeGreaterThanOrEqual(1500)
    expect(at[1]).toBeLessThanOrEqual(1501)
  })

  it('drops a scheduled push once closed', async () => {
    const { at, push } = recorder()
    const throttle = new PushThrottle(push, 1000, () => Date.now())
    throttle.request()
    await vi.advanceTimersByTimeAsync(10)
    throttle.request()
    throttle.close()
    throttle.request()
    await vi.advanceTimersByTimeAsync(5000)
    expect(at).toEqual([0])
  })
})
