import { createHash } from 'node:crypto'
import { hourBucket } from '../../core/calendar.ts'
import { itemTime, type RollupEntry } from '../store.ts'
import { ttlSeconds } from './items.ts'
import type { Requests } from './requests.ts'
import type { WriteOp } from './unit-writer.ts'

/**
 * How long a ledger remembers an item it counted: longer than any record is delivered again
 * (the stream keeps records 24 hours) and than a kept record may be replayed (72 hours).
 */
export const LEDGER_KEEP_HOURS = 96

/**
 * Which items of one tracker session the roll-up has counted, and a version that every unit
 * counting any of them moves on under a condition: the fence that lets one unit at a time
 * change the session's sessions and counters (README.md, "Counting once").
 *
 * An event is known by its Events item's key, which a retry of the tracker repeats and
 * which no other event has, and never by a stream position, which AWS documents only as an
 * order within one shard. A ledger holds a short hash of each key with the hour it happened
 * in, so it can forget what is older than LEDGER_KEEP_HOURS. Bot hits have no session: a
 * bot partition's ledger is kept per hour, so a flood of them never grows one item past what
 * DynamoDB takes.
 */
export class UnitLedgers {
  /** The ledgers this unit read, by key: their version (absent: none yet) and what they hold. */
  private readonly read = new Map<string, { v: number | undefined; ids: Set<string> }>()
  /** What this unit counts, by ledger: it is added when the unit writes. */
  private readonly adding = new Map<string, Set<string>>()

  constructor(
    private readonly requests: Requests,
    private readonly stateTable: string,
  ) {}

  /** The entries not counted yet (by their ledgers), each once, in their order. */
  async uncounted(entries: readonly RollupEntry[]): Promise<RollupEntry[]> {
    const keyed = entries.map((entry) => ({ entry, ...ledgerEntry(entry) }))
    const wanted = [...new Set(keyed.map((k) => k.ledger))].filter((k) => !this.read.has(k))
    const found = await this.requests.batchGet(
      this.stateTable,
      wanted.map((pk) => ({ pk, sk: '-' })),
    )
    for (const pk of wanted) this.read.set(pk, { v: undefined, ids: new Set() })
    for (const item of found) {
      this.read.set(String(item.pk), {
        v: Number(item.v),
        ids: new Set(item.ids instanceof Set ? (item.ids as Set<string>) : []),
      })
    }
    const out: RollupEntry[] = []
    for (const { entry, ledger, id } of keyed) {
      const adding = this.adding.get(ledger) ?? new Set<string>()
      if (this.read.get(ledger)?.ids.has(id) || adding.has(id)) continue
      adding.add(id)
      this.adding.set(ledger, adding)
      out.push(entry)
    }
    return out
  }

  /**
   * The ledgers' writes: what they held plus what this unit counts, less what is past keeping,
   * each under the condition that no other unit moved it on since it was read. Applied with
   * (or before) the unit's other writes, so they and the counting are one.
   */
  fence(now: number): WriteOp[] {
    const ops: WriteOp[] = []
    for (const [pk, added] of this.adding) {
      const before = this.read.get(pk) ?? { v: undefined, ids: new Set<string>() }
      const all = [...before.ids, ...added]
      // Kept by the session's own time, not the clock's: a history import counts old hours.
      const newestHour = all.reduce((max, id) => Math.max(max, hourOf(id)), 0)
      const ids = new Set(all.filter((id) => hourOf(id) > newestHour - LEDGER_KEEP_HOURS))
      ops.push({
        Put: {
          TableName: this.stateTable,
          Item: {
            pk,
            sk: '-',
            v: (before.v ?? 0) + 1,
            ids,
            expires_at: ttlSeconds(
              Math.max((newestHour + 1) * 3_600_000, now) + LEDGER_KEEP_HOURS * 3_600_000,
            ),
          },
          ...(before.v === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': before.v } }),
        },
      })
    }
    return ops
  }
}

/** The ledger an entry is counted in, and its id there: `hour.hash` of its stored key. */
function ledgerEntry(entry: RollupEntry): { ledger: string; id: string } {
  if (!entry.origin) throw new Error('DynamoDbStore: a roll-up entry without its stored key')
  const { partition, id } = entry.origin
  const hour = hourBucket(itemTime(entry.item))
  const hash = createHash('sha256').update(id).digest('base64url').slice(0, 10)
  const ledger = entry.item.kind === 'bot' ? `ledger#${partition}#${hour}` : `ledger#${partition}`
  return { ledger, id: `${hour.toString(36)}.${hash}` }
}

function hourOf(id: string): number {
  return Number.parseInt(id.slice(0, id.indexOf('.')), 36)
}
