import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb'
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SignInThrottle } from '../../auth/sign-in-throttle.ts'
import { describeSignInAttemptsContract } from '../../testing/contract/sign-in-attempts.contract.ts'
import { type LocalTables, localEndpoint, localTables } from '../../testing/dynamodb.ts'
import { forwardingDocClient } from '../../testing/dynamodb-faults.ts'
import { StorageUnavailableError } from '../store.ts'
import { type DynamoClients, dynamoClients } from './clients.ts'
import { DynamoDbSignInAttempts } from './sign-in-attempts.ts'
import { TTL_ATTRIBUTE } from './tables.ts'

/**
 * The contract on DynamoDB Local: each view is a client of its own on the same State table,
 * as each Lambda container has.
 */
describeSignInAttemptsContract('dynamodb', async () => {
  const local = await localTables()
  const opened: DynamoClients[] = []
  return {
    view: () => {
      const clients = dynamoClients({ endpoint: localEndpoint() })
      opened.push(clients)
      return new DynamoDbSignInAttempts({ doc: clients.doc, table: local.tables.state })
    },
    cleanup: async () => {
      for (const clients of opened) clients.ddb.destroy()
      await local.drop()
    },
  }
})

const MIN = 60_000
// Ahead of the wall clock: TTL deletes an item whose time has passed (the contract says why).
const NOW = (Math.floor(Date.now() / MIN) + 10) * MIN

function throttled(): Error {
  const error = new Error('Rate of requests exceeds the allowed throughput')
  error.name = 'ProvisionedThroughputExceededException'
  Object.assign(error, { $fault: 'client', $metadata: {} })
  return error
}

describe('DynamoDbSignInAttempts in the State table', () => {
  let local: LocalTables
  beforeEach(async () => {
    local = await localTables()
  })
  afterEach(async () => {
    await local.drop()
  })

  it('gives every item it writes a TTL no earlier than the record ends, and the table expires by it', async () => {
    const ttl = await local.clients.ddb.send(
      new DescribeTimeToLiveCommand({ TableName: local.tables.state }),
    )
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: TTL_ATTRIBUTE.state,
    })
    const attempts = new DynamoDbSignInAttempts({
      doc: local.clients.doc,
      table: local.tables.state,
    })
    const throttle = new SignInThrottle({ attempts, globalThreshold: 6 })
    // An address locked out, a device cookie's failure, a success given back, a spike's slot.
    for (let i = 0; i < 6; i++) await throttle.reserve({ address: '192.0.2.1' }, NOW)
    await throttle.reserve({ address: '192.0.2.2', device: 'n1' }, NOW + MIN)
    await throttle.reserve({ address: '192.0.2.3' }, NOW + 2 * MIN)
    await throttle.succeeded({ address: '192.0.2.3' }, NOW + 2 * MIN)
    await throttle.reserve({ address: '192.0.2.4' }, NOW + 3 * MIN)

    const { Items = [] } = await local.clients.doc.send(
      new ScanCommand({ TableName: local.tables.state }),
    )
    const signIn = Items.filter((item) => String(item.pk).startsWith('signin'))
    const records = signIn.filter((item) => item.sk === '-')
    const minutes = signIn.filter((item) => item.sk !== '-')
    expect(records.map((item) => item.pk).sort()).toEqual([
      'signin#addr:192.0.2.1',
      'signin#addr:192.0.2.4',
      'signin#device:n1',
      'signin#untrusted:next',
    ])
    for (const item of records) {
      // Epoch seconds (TTL ignores anything else), never before the record may be forgotten.
      expect(item.expires_at, item.pk).toBe(Math.ceil(item.expires_ms / 1000))
      expect(item.expires_at * 1000).toBeGreaterThanOrEqual(item.locked_until)
    }
    const locked = records.find((item) => item.pk === 'signin#addr:192.0.2.1')
    expect(locked).toMatchObject({ failures: 5, locked_until: NOW + MIN })
    expect(minutes.map((item) => [Number(item.sk), item.failures])).toEqual([
      [NOW / MIN, 5],
      [NOW / MIN + 2, 0],
      [NOW / MIN + 3, 1],
    ])
    for (const item of minutes) {
      // Kept an hour past its minute: longer than the 15 minutes the spike looks back.
      expect(item.expires_at).toBe((Number(item.sk) + 61) * 60)
    }
  })

  it('answers a fault of the moment as unavailable and lets no attempt through on it', async () => {
    const { doc, mock } = forwardingDocClient(local)
    const attempts = new DynamoDbSignInAttempts({ doc, table: local.tables.state })
    const throttle = new SignInThrottle({ attempts })
    for (let i = 0; i < 4; i++) await throttle.reserve({ address: '192.0.2.9' }, NOW)
    mock.on(GetCommand).rejects(throttled())
    await expect(throttle.reserve({ address: '192.0.2.9' }, NOW)).rejects.toBeInstanceOf(
      StorageUnavailableError,
    )
    mock.on(GetCommand).callsFake((input) => local.clients.doc.send(new GetCommand(input)))
    mock.on(PutCommand).rejects(throttled())
    await expect(throttle.reserve({ address: '192.0.2.9' }, NOW)).rejects.toBeInstanceOf(
      StorageUnavailableError,
    )
    mock.on(PutCommand).callsFake((input) => local.clients.doc.send(new PutCommand(input)))
    // Nothing was counted by the refused calls: the fifth free failure is still there.
    expect((await throttle.reserve({ address: '192.0.2.9' }, NOW)).ok).toBe(true)
    expect((await throttle.reserve({ address: '192.0.2.9' }, NOW)).ok).toBe(false)
    mock.restore()
  })
})
