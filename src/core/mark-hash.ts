/**
 * A 53-bit hash of a visitor mark, so a day's marks fit in a Set of numbers. Two 32-bit
 * FNV-1a style lanes with different seeds; with a million marks a day the chance that any
 * two collide is about 1 in 20,000 per day, and a collision only undercounts one visitor.
 */
export function markHash(siteId: string, scope: string, visitorId: string): number {
  // The hash of `${siteId}\u001f${scope}\u001f${visitorId}`, taken piece by piece so that no
  // string is built (the hot path hashes two marks per event); stored marks depend on it.
  lanes.a = 0x811c9dc5
  lanes.b = 0x01000193 ^ 0x5bd1e995
  feed(siteId)
  feed(SEPARATOR)
  feed(scope)
  feed(SEPARATOR)
  feed(visitorId)
  // 32 bits of a and 21 bits of b: exactly representable as a double.
  return (lanes.a >>> 0) * 2 ** 21 + ((lanes.b >>> 0) & 0x1fffff)
}

const SEPARATOR = '\u001f'
const lanes = { a: 0, b: 0 }

function feed(text: string): void {
  let { a, b } = lanes
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  lanes.a = a
  lanes.b = b
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
