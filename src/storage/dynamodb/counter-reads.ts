import { zeroCounters } from '../../core/rollup-deltas.ts'
import { COUNTER_NAMES } from '../../core/types.ts'
import {
  type CounterReads,
  checkTopValuesQuery,
  type RollupRange,
  type RollupRow,
  type TopValuesQuery,
} from '../store.ts'
import type { Item } from './items.ts'
import { bucketKey, KEY_VALUE_BYTES, STATE, statsPartition } from './keys.ts'
import type { StoreContext } from './requests.ts'

/** The stats queries' side: a dimension's partition of the Stats table, over a range. */
export class DynamoDbCounterReads implements CounterReads {
  constructor(private readonly c: StoreContext) {}

  async countersVersion(siteId: string): Promise<number> {
    const item = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.version(siteId),
      sk: STATE.one,
    })
    return typeof item?.version === 'number' ? item.version : 0
  }

  /** One Query of the dimension's partition over the range (paged by 1 MB). */
  async readRollups(range: RollupRange): Promise<RollupRow[]> {
    const values: Record<string, unknown> = {
      ':pk': statsPartition(range.site_id, range.grain, range.dim),
      ':from': `${bucketKey(range.from)}#`,
      ':to': `${bucketKey(range.to)}#\uffff`,
    }
    const filters: string[] = []
    if (range.value !== undefined) {
      filters.push('#v = :value')
      values[':value'] = range.value
    }
    const rows = await this.c.requests.queryAll({
      TableName: this.c.tables.stats,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
      ExpressionAttributeNames: range.value !== undefined ? { '#v': 'v' } : undefined,
      ExpressionAttributeValues: values,
    })
    // No TTL filter: an hourly dimension row past its TTL is one the sweep would have
    // removed, and no reader asks for hours that old (the roll-up stops writing them).
    const out = rows.map((item) => rowOf(item, range.site_id, range.dim))
    // The key orders rows by bucket, then value as UTF-8 bytes (as SQLite does), except a
    // value too long for a key, whose key ends in a hash (keyValue): then sort them again.
    if (!out.some((row) => Buffer.byteLength(row.value) > KEY_VALUE_BYTES)) return out
    return out.sort(
      (a, b) =>
        (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0) ||
        Buffer.compare(Buffer.from(a.value), Buffer.from(b.value)),
    )
  }

  async topValues(query: TopValuesQuery): Promise<RollupRow[]> {
    checkTopValuesQuery(query, 'DynamoDbStore.topValues')
    return topOf(await this.readRollups(query), query)
  }
}

/** A range's rows summed per value, largest first, as CounterReads.topValues answers. */
export function topOf(rows: readonly RollupRow[], query: TopValuesQuery): RollupRow[] {
  const sums = new Map<string, RollupRow>()
  for (const { site_id: _, ...row } of rows as Array<RollupRow & { site_id?: string }>) {
    const sum = sums.get(row.value)
    if (!sum) {
      sums.set(row.value, { ...row, bucket: '' })
      continue
    }
    for (const name of COUNTER_NAMES) sum[name] += row[name]
  }
  const wanted = query.counters ?? COUNTER_NAMES
  const out = [...sums.values()].filter((row) => {
    for (const name of COUNTER_NAMES) if (!wanted.includes(name)) row[name] = 0
    // Values whose counters net to zero (an exit page the visitor moved on from) are left out.
    return wanted.reduce((sum, name) => sum + row[name], 0) > 0
  })
  const by = query.orderBy
  return out
    .sort((a, b) => b[by] - a[by] || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, query.limit)
}

/** A counter row as the SQLite store's reads return it (its site included). */
function rowOf(item: Item, siteId: string, dim: string): RollupRow {
  const row: RollupRow & { site_id: string } = {
    site_id: siteId,
    bucket: item.b as number | string,
    dim,
    value: String(item.v ?? ''),
    ...zeroCounters(),
  }
  for (const name of COUNTER_NAMES) row[name] = Number(item[name] ?? 0)
  return row
}
