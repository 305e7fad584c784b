import { randomBytes } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb'
import { StorageUnavailableError, UnitTooWideError } from '../store.ts'
import { batchWriteAll, chunk } from './batch-write.ts'
import { call, storageFault } from './faults.ts'
import { STATE } from './keys.ts'
import { cancellationCodes } from './requests.ts'

/** One write of a unit, as TransactWriteItems takes it. */
export type WriteOp = NonNullable<TransactWriteCommandInput['TransactItems']>[number]

/** TransactWriteItems takes at most 100 items. */
export const MAX_TRANSACT_ITEMS = 100
/** A plan part's bytes: well under the 400 KB item limit. */
const PART_BYTES = 300_000

export interface UnitWriterOptions {
  stateTable: string
  /** Items per transaction (at most 100); tests make it small to see plans in several chunks. */
  maxTransactItems?: number
  /**
   * A fault hook for tests: asked once per unit write; true fails it after its first chunk
   * (a plan) or before its only transaction (a unit small enough for one).
   */
  failWrite?: () => boolean
}

/**
 * Applies a roll-up unit's writes so that it counts exactly once, however often it fails and
 * is retried (README.md, "Counting once").
 *
 * A unit that fits one transaction is one transaction. A larger one first persists its plan,
 * every write it will make, in one transaction (the parts of its compressed text and a
 * registry item under `plan-open`), then applies the plan chunk by chunk: each chunk's
 * transaction also moves the registry item's `applied` on, under the condition that it still
 * has the value the chunk expects, so no chunk applies twice; the last chunk deletes the
 * registry item. A plan left open (a crash, a fault of the storage, a Lambda timeout) is
 * finished by whoever writes next, before they read anything: recomputing it would read what
 * its first chunks already changed.
 */
export class UnitWriter {
  private readonly maxItems: number

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: UnitWriterOptions,
  ) {
    this.maxItems = Math.min(MAX_TRANSACT_ITEMS, Math.max(2, options.maxTransactItems ?? 100))
  }

  /**
   * Writes a unit's `ops`, counting once. `fence` are conditional writes that decide whether
   * the unit may count at all (the ledgers of what it counts, ledger.ts): they go into the
   * unit's one transaction, or into the transaction that persists its plan, so a unit whose
   * fence fails has written nothing and is redone (CountedMeanwhileError).
   */
  async write(ops: readonly WriteOp[], fence: readonly WriteOp[] = []): Promise<void> {
    if (ops.length === 0 && fence.length === 0) return
    const fail = this.options.failWrite?.() ?? false
    if (ops.length + fence.length <= this.maxItems) {
      if (fail) throw new Error('UnitWriter: injected fault before the transaction')
      await this.fenced('TransactWriteItems(unit)', [...fence, ...ops], fence.length, newToken())
      return
    }
    const id = newToken()
    const size = this.maxItems - 1
    const chunks = chunk(ops, size)
    await this.persistPlan(id, ops, chunks.length, size, fence)
    await this.applyFrom(id, chunks, 0, fail)
  }

  /**
   * Finishes every plan a failed write left open; run before a unit reads anything.
   * `around`, when given, runs before and after each plan this call applies, with its writes
   * (the roll-up marks the sites they touch: late-writes.ts).
   */
  async finishOpenPlans(around?: (ops: readonly WriteOp[]) => Promise<void>): Promise<number> {
    const open = await call('Query(plan-open)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.options.stateTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': STATE.openPlansPk },
          ConsistentRead: true,
        }),
      ),
    )
    const plans = open.Items ?? []
    for (const plan of plans) {
      const id = String(plan.sk)
      const ops = await this.loadPlan(id, Number(plan.parts))
      // Its parts are deleted only after its last chunk deleted the registry item, in the
      // same transaction as that chunk's writes: another process finished it meanwhile.
      if (!ops) continue
      // Cut as its writer cut it: `applied` counts that writer's chunks, whatever size this
      // process would take.
      const chunks = chunk(ops, Number(plan.chunk_size))
      if (chunks.length !== Number(plan.chunks)) {
        throw new Error(`UnitWriter: plan ${id} cuts into ${chunks.length}, not ${plan.chunks}`)
      }
      await around?.(ops)
      await this.applyFrom(id, chunks, Number(plan.applied), false)
      await around?.(ops)
    }
    return plans.length
  }

  private async persistPlan(
    id: string,
    ops: readonly WriteOp[],
    chunks: number,
    chunkSize: number,
    fence: readonly WriteOp[],
  ): Promise<void> {
    const text = gzipSync(JSON.stringify(ops))
    const parts: Buffer[] = []
    for (let at = 0; at < text.length; at += PART_BYTES) {
      parts.push(text.subarray(at, at + PART_BYTES))
    }
    if (parts.length + 1 + fence.length > MAX_TRANSACT_ITEMS) {
      throw new UnitTooWideError(
        `UnitWriter: a plan of ${parts.length} parts and ${fence.length} ledgers is more than one transaction holds`,
      )
    }
    const TableName = this.options.stateTable
    await this.fenced(
      'TransactWriteItems(plan)',
      [
        ...fence,
        ...parts.map(
          (data, i): WriteOp => ({
            Put: { TableName, Item: { pk: STATE.plan(id), sk: String(i).padStart(3, '0'), data } },
          }),
        ),
        {
          Put: {
            TableName,
            Item: {
              pk: STATE.openPlansPk,
              sk: id,
              chunks,
              chunk_size: chunkSize,
              applied: 0,
              parts: parts.length,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
      fence.length,
      `${id}-p`,
    )
  }

  /** A plan's writes; undefined once its parts are (being) deleted: the plan is applied. */
  private async loadPlan(id: string, parts: number): Promise<WriteOp[] | undefined> {
    const items = await this.planParts(id)
    if (items.length !== parts) return undefined
    const text = Buffer.concat(items.map((item) => Buffer.from(item.data as Uint8Array)))
    return JSON.parse(gunzipSync(text).toString('utf8')) as WriteOp[]
  }

  private async applyFrom(
    id: string,
    chunks: WriteOp[][],
    from: number,
    failAfterFirst: boolean,
  ): Promise<void> {
    const TableName = this.options.stateTable
    const Key = { pk: STATE.openPlansPk, sk: id }
    for (let k = from; k < chunks.length; k++) {
      const last = k === chunks.length - 1
      const registry: WriteOp = last
        ? {
            Delete: {
              TableName,
              Key,
              ConditionExpression: 'applied = :k',
              ExpressionAttributeValues: { ':k': k },
            },
          }
        : {
            Update: {
              TableName,
              Key,
              UpdateExpression: 'SET applied = :next',
              ConditionExpression: 'applied = :k',
              ExpressionAttributeValues: { ':k': k, ':next': k + 1 },
            },
          }
      try {
        await this.transact(
          'TransactWriteItems(chunk)',
          [...(chunks[k] ?? []), registry],
          `${id}-${k}`,
        )
      } catch (error) {
        // Another writer applied this chunk meanwhile (it finished the plan too): go on from
        // wherever the registry says.
        if (!registryMoved(error)) throw error
        return this.finishOpenPlans().then(() => undefined)
      }
      if (failAfterFirst && !last) throw new Error('UnitWriter: injected fault after a chunk')
    }
    await this.deleteParts(id)
  }

  private async deleteParts(id: string): Promise<void> {
    const parts = await this.planParts(id)
    await batchWriteAll(
      this.doc,
      this.options.stateTable,
      parts.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
    )
  }

  /** A plan's parts, in order (one consistent Query: they are written in one transaction). */
  private async planParts(id: string): Promise<Array<Record<string, unknown>>> {
    const found = await call('Query(plan)', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.options.stateTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': STATE.plan(id) },
          ConsistentRead: true,
        }),
      ),
    )
    return found.Items ?? []
  }

  /** A transaction whose first `fenced` items are a fence: one that fails means a redo. */
  private async fenced(
    where: string,
    TransactItems: WriteOp[],
    fenced: number,
    ClientRequestToken: string,
  ): Promise<void> {
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems, ClientRequestToken }))
    } catch (error) {
      const codes = cancellationCodes(error)
      if (codes?.slice(0, fenced).includes('ConditionalCheckFailed')) {
        throw new CountedMeanwhileError(where, { cause: error })
      }
      throw storageFault(where, error)
    }
  }

  private transact(where: string, TransactItems: WriteOp[], ClientRequestToken: string) {
    return call(where, () =>
      this.doc.send(new TransactWriteCommand({ TransactItems, ClientRequestToken })),
    )
  }
}

/**
 * A unit's fence failed: another run of some of its items (a redelivery overlapping this one,
 * a batch of the same tracker session in parallel) counted meanwhile. Nothing of the unit was
 * written; redone, it reads what the other run wrote and counts only what is left. Retried
 * as unavailability is: later, the same call succeeds.
 */
export class CountedMeanwhileError extends StorageUnavailableError {
  constructor(where: string, options?: { cause?: unknown }) {
    super(`DynamoDB ${where}: another run counted some of these items meanwhile`, options)
    this.name = 'CountedMeanwhileError'
  }
}

/** A transaction cancelled because the plan's registry item had moved on (or was gone). */
function registryMoved(error: unknown): boolean {
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> } | null)
    ?.CancellationReasons
  return reasons?.at(-1)?.Code === 'ConditionalCheckFailed'
}

/** 24 hex characters: ClientRequestToken takes at most 36, and a chunk adds its number. */
function newToken(): string {
  return randomBytes(12).toString('hex')
}
