import { COUNTER_NAMES, type RollupDelta } from '../../core/types.ts'
import { STATE, statsPartition, statsSortKey } from './keys.ts'
import { hourlyRowExpiry } from './retention.ts'
import type { WriteOp } from './unit-writer.ts'

/** A counter delta as one write: its non-zero counters added to its row. */
export function counterOp(statsTable: string, delta: RollupDelta): WriteOp | undefined {
  const names: Record<string, string> = {}
  const values: Record<string, unknown> = {}
  const adds: string[] = []
  COUNTER_NAMES.forEach((name, i) => {
    const n = delta.counters[name]
    if (n === 0) return
    names[`#c${i}`] = name
    values[`:c${i}`] = n
    adds.push(`#c${i} :c${i}`)
  })
  if (adds.length === 0) return undefined
  const { grain, site_id, bucket, dim, value } = delta.key
  const sets = ['#b = :b', '#v = :v']
  names['#b'] = 'b'
  names['#v'] = 'v'
  values[':b'] = bucket
  values[':v'] = value
  // Hourly dimension rows serve the last days only: DynamoDB's TTL removes them for free.
  if (grain === 'hour' && dim !== '') {
    sets.push('expires_at = :e')
    values[':e'] = hourlyRowExpiry(bucket)
  }
  return {
    Update: {
      TableName: statsTable,
      Key: { pk: statsPartition(site_id, grain, dim), sk: statsSortKey(bucket, value) },
      UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  }
}

/** The write that tells caches a site's counters changed (Store.countersVersion). */
export function versionBump(stateTable: string, siteId: string) {
  return {
    TableName: stateTable,
    Key: { pk: STATE.version(siteId), sk: STATE.one },
    UpdateExpression: 'ADD version :one',
    ExpressionAttributeValues: { ':one': 1 },
  }
}
