import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb'
import { rollUpBatch } from '../../rollup/roll-up-batch.ts'
import type { RollupOptions } from '../../rollup/rollup-options.ts'
import { call } from '../../storage/dynamodb/faults.ts'
import { REPLAY_HORIZON_HOURS } from '../../storage/dynamodb/fold-writer.ts'
import type { Item } from '../../storage/dynamodb/items.ts'
import { STATE } from '../../storage/dynamodb/keys.ts'
import type { TableNames } from '../../storage/dynamodb/tables.ts'
import {
  itemTime,
  type RollupEntry,
  type RollupQueue,
  type SetAside,
  StorageUnavailableError,
} from '../../storage/store.ts'

/**
 * What a replay may count exactly once: events younger than this. The fold's windows tell
 * what was counted for REPLAY_HORIZON_HOURS after it (fold-writer.ts); six hours less leave
 * room for a replay that runs long.
 */
export const REPLAY_WITHIN_HOURS = REPLAY_HORIZON_HOURS - 6

export interface ReplayResult {
  /** Records kept aside when the replay began. */
  kept: number
  /** Counted now, and no longer kept. */
  replayed: number
  /** Counted before (a redelivery got through meanwhile): no longer kept, counted nothing. */
  already_counted: number
  /** Failed again: still kept, with the new reason. */
  failed: number
  /** Past REPLAY_WITHIN_HOURS, or kept without the item itself: still kept, untouched. */
  not_replayable: number
  /** What stays kept afterwards (RollupProgress.setAside). */
  still_kept: SetAside | null
}

interface Kept {
  pk: string
  sk: string
  entry: RollupEntry | undefined
  /** The item's time; undefined when it was kept without the item itself. */
  at: number | undefined
  /** When it was set aside. */
  failedAt: number
}

/**
 * `npm run replay:aws`: counts the records the roll-up set aside (the dead letters,
 * `dead#…` in the State table), oldest first, through the same roll-up as the stream's
 * records; each counts once because the fold's windows of its site say whether it was
 * (README in src/storage/dynamodb, "Counting once"). A replayed record leaves the dead
 * letters; the summary `/api/stats` reads is written anew from what stays. A dry run only
 * says what it would do. An operator's command, so it may scan the State table.
 */
export async function replayKept(
  target: {
    doc: DynamoDBDocumentClient
    tables: TableNames
    store: RollupQueue
  },
  options: RollupOptions & { now: number; dryRun: boolean },
): Promise<ReplayResult> {
  const kept = await keptRecords(target.doc, target.tables.state)
  const result: ReplayResult = {
    kept: kept.length,
    replayed: 0,
    already_counted: 0,
    failed: 0,
    not_replayable: 0,
    still_kept: null,
  }
  const oldest = options.now - REPLAY_WITHIN_HOURS * 3_600_000
  const stay: Kept[] = []
  for (const record of kept.sort((a, b) => (a.at ?? 0) - (b.at ?? 0))) {
    const { entry, at } = record
    if (!entry || at === undefined || at < oldest) {
      result.not_replayable++
      stay.push(record)
      continue
    }
    if (options.dryRun) {
      stay.push(record)
      continue
    }
    try {
      const counted = await rollUpBatch(target.store, [entry], options)
      if (counted > 0) result.replayed++
      else result.already_counted++
      await call('DeleteItem(dead letter)', () =>
        target.doc.send(
          new DeleteCommand({
            TableName: target.tables.state,
            Key: { pk: record.pk, sk: record.sk },
          }),
        ),
      )
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error
      result.failed++
      stay.push(record)
      await target.store.deadLetter(entry, `replay: ${String(error)}`, options.now)
    }
  }
  result.still_kept = summaryOf(stay)
  if (!options.dryRun) await writeSummary(target.doc, target.tables.state, result.still_kept)
  return result
}

/** Every record the dead letters keep. */
async function keptRecords(doc: DynamoDBDocumentClient, table: string): Promise<Kept[]> {
  const out: Kept[] = []
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const page = await call('Scan(dead letters)', () =>
      doc.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'begins_with(pk, :dead)',
          ExpressionAttributeValues: { ':dead': STATE.deadLetters('') },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      ),
    )
    for (const item of page.Items ?? []) out.push(keptOf(item))
    ExclusiveStartKey = page.LastEvaluatedKey
  } while (ExclusiveStartKey)
  return out
}

function keptOf(item: Item): Kept {
  const pk = String(item.pk)
  const sk = String(item.sk)
  const failedAt = Number(item.failed_at)
  if (typeof item.payload !== 'string' || typeof item.origin !== 'string') {
    return { pk, sk, entry: undefined, at: undefined, failedAt }
  }
  const entry: RollupEntry = {
    stream: pk.slice(STATE.deadLetters('').length),
    position: sk,
    item: JSON.parse(item.payload),
    origin: JSON.parse(item.origin),
  }
  return { pk, sk, entry, at: itemTime(entry.item), failedAt }
}

function summaryOf(stay: readonly Kept[]): SetAside | null {
  if (stay.length === 0) return null
  // A loop, not Math.min(...all): the dead letters of a long outage could overflow the stack.
  let since = Number.POSITIVE_INFINITY
  for (const kept of stay) since = Math.min(since, kept.at ?? kept.failedAt)
  return { items: stay.length, since }
}

/** The summary `setAside` reads, from what stays kept. */
async function writeSummary(doc: DynamoDBDocumentClient, table: string, summary: SetAside | null) {
  await call('PutItem(dead letters)', () =>
    doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: STATE.setAsidePk,
          sk: STATE.one,
          ...(summary ? { items: summary.items, since: summary.since } : { items: 0 }),
        },
      }),
    ),
  )
}
