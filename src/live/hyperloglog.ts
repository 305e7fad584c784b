/**
 * A HyperLogLog sketch: the number of distinct items added, within a few percent, in a fixed
 * 2^precision bytes whatever the count (Flajolet et al. 2007, with the small-range correction
 * by linear counting). Used where the live window cannot keep every visitor (live-window.ts).
 */
export class HyperLogLog {
  private readonly registers: Uint8Array

  /** @param precision 4–16; the relative error is about 1.04 / sqrt(2^precision). */
  constructor(private readonly precision = 12) {
    this.registers = new Uint8Array(1 << precision)
  }

  /** Adds an item by its 32-bit hash (`hashString`). */
  add(hash: number): void {
    const p = this.precision
    const index = hash >>> (32 - p)
    // The remaining bits, with a guard bit so the run of zeros ends within them.
    const rank = Math.clz32((hash << p) | (1 << (p - 1))) + 1
    if (rank > (this.registers[index] as number)) this.registers[index] = rank
  }

  /** Adds every item of `other` (same precision) to this one. */
  merge(other: HyperLogLog): void {
    const mine = this.registers
    const theirs = other.registers
    for (let i = 0; i < mine.length; i++) {
      if ((theirs[i] as number) > (mine[i] as number)) mine[i] = theirs[i] as number
    }
  }

  estimate(): number {
    const m = this.registers.length
    let sum = 0
    let zeros = 0
    for (const r of this.registers) {
      sum += 2 ** -r
      if (r === 0) zeros++
    }
    const alpha = 0.7213 / (1 + 1.079 / m)
    const raw = (alpha * m * m) / sum
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros)
    return raw
  }
}

/** A 32-bit hash of a string (FNV-1a, then MurmurHash3's finaliser to spread the bits). */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
