/**
 * A Bloom filter over visitor-mark hashes (core/mark-hash.ts, 53 bits): "surely not seen" for most
 * new marks, "maybe" for the rest, in a fixed number of bits. In front of a day's marks table
 * it spares a lookup for nearly every new visitor; a "maybe" is settled by the table, so a
 * false positive costs a lookup, never a wrong count.
 */
export class BloomFilter {
  private readonly bits: Uint32Array
  private readonly mask: number

  /** @param log2Bits size in bits as a power of two (23: 1 MiB, about 1 % false positives at 900,000 marks with 3 probes). */
  constructor(
    log2Bits = 23,
    private readonly probes = 3,
  ) {
    this.bits = new Uint32Array(2 ** (log2Bits - 5))
    this.mask = 2 ** log2Bits - 1
  }

  add(hash: number): void {
    const [a, b] = split(hash)
    for (let i = 0; i < this.probes; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31))
    }
  }

  mightHave(hash: number): boolean {
    const [a, b] = split(hash)
    for (let i = 0; i < this.probes; i++) {
      const bit = (a + Math.imul(i, b)) & this.mask
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}

/** Two 32-bit probes from a 53-bit hash (double hashing: probe i is a + i·b). */
function split(hash: number): [number, number] {
  const low = (hash % 0x1_0000_0000) >>> 0
  const high = Math.floor(hash / 0x1_0000_0000)
  return [low, Math.imul(high ^ low, 0x9e3779b1) | 1]
}
