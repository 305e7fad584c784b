/** A source of uniform [0, 1) numbers. */
export type Random = () => number

/**
 * mulberry32: a tiny, fast generator, good enough for sampling distributions and drawing
 * delivery schedules; the same seed draws the same sequence, so a run can be replayed.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
