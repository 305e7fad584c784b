import { randomBytes } from 'node:crypto'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { DynamoDBRecord } from 'aws-lambda'
import { inject } from 'vitest'
import { LocalStreamBacklog } from '../entry/aws/local-stream-backlog.ts'
import { lambdaRecordOf } from '../entry/aws/stream-poller.ts'
import { type DynamoClients, dynamoClients } from '../storage/dynamodb/clients.ts'
import { DynamoDbStore, type DynamoDbStoreOptions } from '../storage/dynamodb/dynamodb-store.ts'
import {
  createTables,
  deleteTables,
  prefixedTableNames,
  type TableNames,
} from '../storage/dynamodb/tables.ts'

/** The test run's DynamoDB Local (test/support/dynamodb-local.global.ts). */
export function localEndpoint(): string {
  return inject('dynamodbEndpoint')
}

export interface LocalTables {
  clients: DynamoClients
  tables: TableNames
  /**
   * A store over these tables; options as DynamoDbStore takes them. It reads the Events stream
   * as the local poller's shape does (a LocalStreamBacklog over its document client), unless
   * the options say otherwise (`pulled`).
   */
  store: (options?: Partial<DynamoDbStoreOptions>) => DynamoDbStore
  /** The Events stream and the local poller's checkpoints in these tables. */
  backlog: (doc?: DynamoDBDocumentClient) => LocalStreamBacklog
  /** Every record of the Events stream so far, as the event source mapping hands them over. */
  streamRecords: () => Promise<DynamoDBRecord[]>
  drop: () => Promise<void>
}

/** A fresh set of tables with a prefix of its own on the run's DynamoDB Local. */
export async function localTables(): Promise<LocalTables> {
  const clients = dynamoClients({ endpoint: localEndpoint() })
  const tables = prefixedTableNames(`t${randomBytes(6).toString('hex')}`)
  await createTables(clients.ddb, tables)
  const backlog = (doc = clients.doc) => new LocalStreamBacklog({ ...clients, doc }, tables)
  return {
    clients,
    tables,
    store: (options = {}) =>
      new DynamoDbStore({ ...clients, tables, pulled: backlog(options.doc), ...options }),
    backlog,
    streamRecords: async () => {
      const { stream } = backlog()
      const arn = await stream.sourceArn()
      const records: DynamoDBRecord[] = []
      for (const shard of await stream.shards()) {
        for await (const page of stream.records(shard)) {
          records.push(...page.map((r) => lambdaRecordOf(r, arn, 'ap-northeast-2')))
        }
      }
      return records
    },
    drop: async () => {
      await deleteTables(clients.ddb, tables)
      clients.ddb.destroy()
      clients.streams.destroy()
    },
  }
}
