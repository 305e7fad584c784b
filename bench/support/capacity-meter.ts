import { AsyncLocalStorage } from 'node:async_hooks'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'

/** Operations whose units are read units; every other DynamoDB operation writes. */
const READS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand'])
/** Operations that can report what they consumed. */
const REPORTS = new Set([
  ...READS,
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
])

export interface PhaseUsage {
  requests: Record<string, number>
  read_units: number
  write_units: number
}

type Consumed = { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> | undefined

/** An item's size as DynamoDB bills it, estimated from its JSON text (names and values). */
export function itemBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item ?? {}))
}

/** Write units a table's global indexes add for one item written there. */
export type IndexWriteUnits = (table: string, item: Record<string, unknown> | undefined) => number

interface TransactItem {
  Put?: { TableName?: string; Item?: Record<string, unknown> }
  Update?: { TableName?: string; Key?: Record<string, unknown> }
  Delete?: { TableName?: string; Key?: Record<string, unknown> }
  ConditionCheck?: { TableName?: string }
}

/**
 * TransactWriteItems' units computed from the items: DynamoDB Local reports a transaction
 * as if it wrote one item, whatever it holds. Each item costs twice its size in 1 KB units
 * (a transactional write); an update is taken as a row of under 1 KB (the counters, sessions
 * and checkpoints it updates are); index copies cost one standard write per KB.
 */
export function transactWriteUnits(items: readonly TransactItem[], indexUnits: IndexWriteUnits) {
  let units = 0
  for (const op of items) {
    if (op.Put) {
      units += 2 * Math.ceil(itemBytes(op.Put.Item) / 1024)
      units += indexUnits(op.Put.TableName ?? '', op.Put.Item)
    } else if (op.Update || op.Delete) {
      units += 2
    } else if (op.ConditionCheck) {
      units += 2
    }
  }
  return units
}

/**
 * Counts every request the code sends to DynamoDB and the capacity it consumed, as DynamoDB
 * Local reports it (`ReturnConsumedCapacity: TOTAL`, indexes included), or as computed from
 * the items where it reports wrong (transactions: transactWriteUnits), by phase: the phase of the async context that sent it (`run`), else the current
 * one (`phase`). A middleware on the client's stack, so it sees what the store really sends.
 */
export class CapacityMeter {
  private readonly context = new AsyncLocalStorage<string>()
  readonly usage = new Map<string, PhaseUsage>()
  phase = 'setup'

  constructor(private readonly indexUnits: IndexWriteUnits) {}

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown'
        const input = args.input as Record<string, unknown>
        if (REPORTS.has(command)) input.ReturnConsumedCapacity = 'TOTAL'
        const result = await next(args)
        const usage = this.of(this.context.getStore() ?? this.phase)
        usage.requests[command] = (usage.requests[command] ?? 0) + 1
        const consumed = (result.output as { ConsumedCapacity?: Consumed }).ConsumedCapacity
        const units =
          command === 'TransactWriteItemsCommand'
            ? transactWriteUnits((input.TransactItems ?? []) as TransactItem[], this.indexUnits)
            : (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
                (sum, c) => sum + (c.CapacityUnits ?? 0),
                0,
              )
        if (READS.has(command)) usage.read_units += units
        else usage.write_units += units
        return result
      },
      { step: 'initialize', name: 'capacityMeter' },
    )
  }

  /** Runs `work` with every request it sends counted under `phase`. */
  run<T>(phase: string, work: () => T): T {
    return this.context.run(phase, work)
  }

  of(phase: string): PhaseUsage {
    let usage = this.usage.get(phase)
    if (!usage) {
      usage = { requests: {}, read_units: 0, write_units: 0 }
      this.usage.set(phase, usage)
    }
    return usage
  }

  requestsOf(phase: string): number {
    return Object.values(this.of(phase).requests).reduce((a, b) => a + b, 0)
  }
}
