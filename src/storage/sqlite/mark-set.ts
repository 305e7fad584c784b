/**
 * A set of visitor-mark hashes (core/mark-hash.ts: whole numbers below 2^53), one per day. A JS
 * Set stores each such number as a separate heap object: a busy day's million marks cost
 * tens of MB and every add is an allocation. This is an open-addressing table in one
 * Float64Array instead (8 bytes a slot, kept at most half full), with no garbage per add.
 */
const EMPTY = 0
/** A removed mark (a roll-up that failed gives its marks back); lookups go past it. */
const REMOVED = -1

export class MarkSet {
  private slots: Float64Array
  private used = 0
  private live = 0

  constructor(capacity = 1024) {
    let size = 16
    while (size < capacity * 2) size *= 2
    this.slots = new Float64Array(size)
  }

  get size(): number {
    return this.live
  }

  has(hash: number): boolean {
    return this.slots[this.find(stored(hash))] !== EMPTY
  }

  /** Adds the hash; false when it was already there. */
  add(hash: number): boolean {
    const value = stored(hash)
    const at = this.find(value)
    if (this.slots[at] === value) return false
    if ((this.used + 1) * 2 > this.slots.length) {
      this.grow()
      return this.add(hash)
    }
    this.slots[at] = value
    this.used++
    this.live++
    return true
  }

  delete(hash: number): void {
    const at = this.find(stored(hash))
    if (this.slots[at] === EMPTY) return
    this.slots[at] = REMOVED
    this.live--
  }

  /** Every hash in the set. */
  *values(): IterableIterator<number> {
    for (const value of this.slots) {
      if (value === EMPTY || value === REMOVED) continue
      yield value === 2 ** 53 ? 0 : value
    }
  }

  /** The slot holding `value`, else the empty slot its probe ends at. */
  private find(value: number): number {
    const mask = this.slots.length - 1
    // The low 32 bits and the high 21 are both hash output: mix them into the start slot.
    let at = ((value % 0x1_0000_0000) ^ Math.floor(value / 0x1_0000_0000)) & mask
    for (;;) {
      const slot = this.slots[at] as number
      if (slot === value || slot === EMPTY) return at
      at = (at + 1) & mask
    }
  }

  private grow(): void {
    const old = this.slots
    this.slots = new Float64Array(old.length * 2)
    this.used = 0
    this.live = 0
    for (const value of old) {
      if (value === EMPTY || value === REMOVED) continue
      this.slots[this.find(value)] = value
      this.used++
      this.live++
    }
  }
}

/** 0 and -1 mark empty and removed slots; a hash of 0 is stored as 2^53 (never a hash). */
function stored(hash: number): number {
  return hash === 0 ? 2 ** 53 : hash
}
