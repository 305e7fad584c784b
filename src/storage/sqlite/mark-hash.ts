/**
 * A 53-bit hash of a visitor mark, so a day's marks fit in a Set of numbers. Two 32-bit
 * FNV-1a style lanes with different seeds; with a million marks a day the chance that any
 * two collide is about 1 in 20,000 per day, and a collision only undercounts one visitor.
 */
export function markHash(siteId: string, scope: string, visitorId: string): number {
  const text = `${siteId}\u001f${scope}\u001f${visitorId}`
  let a = 0x811c9dc5
  let b = 0x01000193 ^ 0x5bd1e995
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  // 32 bits of a and 21 bits of b: exactly representable as a double.
  return (a >>> 0) * 2 ** 21 + ((b >>> 0) & 0x1fffff)
}

/** Marks as 8-byte doubles, one blob per write instead of one row per mark. */
export function packMarks(hashes: readonly number[]): Buffer {
  const buffer = Buffer.allocUnsafe(hashes.length * 8)
  hashes.forEach((hash, i) => buffer.writeDoubleLE(hash, i * 8))
  return buffer
}

export function unpackMarks(packed: Uint8Array): number[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength)
  const out: number[] = []
  for (let offset = 0; offset + 8 <= packed.byteLength; offset += 8) {
    out.push(view.getFloat64(offset, true))
  }
  return out
}

export function groupByDay(marks: ReadonlyArray<{ day: string; hash: number }>) {
  const byDay = new Map<string, number[]>()
  for (const { day, hash } of marks) {
    const hashes = byDay.get(day)
    if (hashes) hashes.push(hash)
    else byDay.set(day, [hash])
  }
  return byDay
}
