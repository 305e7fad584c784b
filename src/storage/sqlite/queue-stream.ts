// The SQLite queue as the roll-up's one stream: seqs to positions and back, for every method that meets one.
import type { RollupEntry, StreamPosition } from '../store.ts'
import type { QueuedEntry } from './packed-item.ts'

/** The SQLite queue is one stream; a position in it is an item's seq. */
export const QUEUE_STREAM = 'queue'

export function queueEntry({ seq, item }: QueuedEntry): RollupEntry {
  return { stream: QUEUE_STREAM, position: String(seq), item }
}

/** The seq at a position; another stream is an error of the caller `where` names. */
export function queueSeq(entry: StreamPosition, where: string): number {
  if (entry.stream !== QUEUE_STREAM) throw new Error(`${where}: no stream ${entry.stream}`)
  return Number(entry.position)
}

/** RollupUnit.uncounted of the queue, which is retired through `retired`: what comes after. */
export function uncountedAfter(
  entries: readonly RollupEntry[],
  retired: number,
  where: string,
): RollupEntry[] {
  return entries.filter((entry) => queueSeq(entry, where) > retired)
}

/** The last seq of the positions a unit's write records; undefined when it records none. */
export function lastSeq(through: readonly StreamPosition[]): number | undefined {
  let processedThrough: number | undefined
  for (const position of through) {
    processedThrough = Math.max(processedThrough ?? 0, queueSeq(position, 'SqliteStore'))
  }
  return processedThrough
}
