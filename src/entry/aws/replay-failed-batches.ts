import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import { readStreamRecord, type StreamRecordLike } from '../../storage/dynamodb/stream-records.ts'
import {
  itemTime,
  type RollupEntry,
  type RollupQueue,
  StorageUnavailableError,
} from '../../storage/store.ts'
import { REPLAY_WITHIN_HOURS } from './replay-kept.ts'

export interface FailedBatchReplay {
  /** Invocation records read (one file each). */
  files: number
  /** Stream records in them. */
  records: number
  /** Events counted now. */
  replayed: number
  /** Events counted before (a retry or a later batch got through): counted nothing now. */
  already_counted: number
  /** Too old to be counted exactly once, or not an Events record: left alone. */
  not_replayable: number
  /** Failed again: set aside in the dead letters, where `replay:aws` finds them. */
  failed: number
  /** Files that are not an invocation record with its records. */
  unreadable_files: string[]
}

/**
 * The stream records of one invocation record that the event source mapping's S3 on-failure
 * destination wrote: the record carries the failed invocation's payload, the `{ Records }`
 * Lambda had sent the function (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
 * Read leniently: the payload as an object or as its JSON text, or the records at the top.
 */
export function recordsOfInvocationRecord(json: unknown): StreamRecordLike[] | undefined {
  const asObject = (value: unknown): Record<string, unknown> | undefined => {
    if (typeof value === 'string') {
      try {
        return asObject(JSON.parse(value))
      } catch {
        return undefined
      }
    }
    return value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)
      : undefined
  }
  const top = asObject(json)
  if (!top) return undefined
  for (const holder of [top, asObject(top.payload), asObject(top.requestPayload)]) {
    if (Array.isArray(holder?.Records)) return holder.Records as StreamRecordLike[]
  }
  return undefined
}

/** Every file under `dir`, in name order (S3 keys carry the time: oldest first). */
function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...filesUnder(path))
    else out.push(path)
  }
  return out
}

/**
 * `npm run replay:aws -- --from DIR`: counts the batches the event source mapping gave up on,
 * as downloaded from the failures bucket (`aws s3 sync s3://BUCKET DIR`), through the same
 * roll-up as the stream's records. Each event counts once, because the fold's windows of
 * its site say whether it was (README in src/storage/dynamodb, "Counting once"), so
 * a replay run twice, or of a batch whose events a retry counted after all, counts nothing
 * twice. Events older than REPLAY_WITHIN_HOURS are left alone: their windows may be gone.
 */
export async function replayFailedBatches(
  store: RollupQueue,
  dir: string,
  options: RollupOptions & { now: number; dryRun: boolean },
): Promise<FailedBatchReplay> {
  const result: FailedBatchReplay = {
    files: 0,
    records: 0,
    replayed: 0,
    already_counted: 0,
    not_replayable: 0,
    failed: 0,
    unreadable_files: [],
  }
  const oldest = options.now - REPLAY_WITHIN_HOURS * 3_600_000
  for (const file of filesUnder(dir)) {
    let json: unknown
    try {
      json = JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      result.unreadable_files.push(file)
      continue
    }
    const records = recordsOfInvocationRecord(json)
    if (!records) {
      result.unreadable_files.push(file)
      continue
    }
    result.files++
    result.records += records.length
    const entries: RollupEntry[] = []
    for (const record of records) {
      const { entries: found, unreadable } = readStreamRecord(record)
      const fresh = found.filter((e) => 'item' in e && itemTime(e.item) >= oldest)
      if (unreadable || fresh.length === 0) result.not_replayable++
      entries.push(...fresh)
    }
    if (options.dryRun || entries.length === 0) continue
    await replayEntries(store, entries, options, result)
  }
  return result
}

/** The file's events in one roll-up; if that fails, one by one, each failure set aside. */
async function replayEntries(
  store: RollupQueue,
  entries: RollupEntry[],
  options: RollupOptions & { now: number },
  result: FailedBatchReplay,
): Promise<void> {
  try {
    const counted = await rollUpBatch(store, entries, options)
    result.replayed += counted
    result.already_counted += entries.length - counted
    return
  } catch (error) {
    if (error instanceof StorageUnavailableError) throw error
  }
  for (const entry of entries) {
    try {
      const counted = await rollUpBatch(store, [entry], options)
      if (counted > 0) result.replayed++
      else result.already_counted++
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error
      result.failed++
      await store.deadLetter(entry, `replay: ${String(error)}`, options.now)
    }
  }
}
