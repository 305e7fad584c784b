import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { stdoutLogOutput } from '../log/log-output.ts'
import { createLogger } from '../log/logger.ts'
import { dynamoClients } from '../storage/dynamodb/clients.ts'
import { DynamoDbStore } from '../storage/dynamodb/dynamodb-store.ts'
import { reachDynamoDb } from '../storage/dynamodb/reach.ts'
import { tableNamesFromEnv } from '../storage/dynamodb/tables.ts'
import { SqliteExport } from '../storage/sqlite/export.ts'
import { DynamoDbBulkPuts } from './aws/dynamodb-bulk-puts.ts'
import { ensureTables } from './aws/dynamodb-service.ts'
import { moveToDynamoDb } from './aws/move-to-dynamodb.ts'
import { lockDataDir } from './data-lock.ts'
import { loadConfig } from './process-host.ts'
import { exitOnStartupFailure } from './startup-failure.ts'

/**
 * `npm run move:aws`: moves the embedded install in DATA_DIR (server stopped) into DynamoDB:
 * AWS's, or the one DYNAMODB_ENDPOINT names (a DynamoDB Local of `npm run dev:aws`).
 */
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL, stdoutLogOutput(config.LOG_FORMAT))
const file = join(config.DATA_DIR, 'liveinsight.db')
if (!existsSync(file)) {
  process.stderr.write(`move:aws: no database at ${file} (set DATA_DIR)\n`)
  process.exit(1)
}
const failed = exitOnStartupFailure('move:aws')
// Held until the process ends: what a server stored meanwhile would stay behind.
try {
  lockDataDir(config.DATA_DIR, 'move:aws')
} catch (error) {
  failed(error)
}
const clients = dynamoClients({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region: process.env.AWS_DEFAULT_REGION,
})
const tables = tableNamesFromEnv(process.env)
await reachDynamoDb(clients.ddb, process.env.DYNAMODB_ENDPOINT).catch(failed)
await ensureTables(clients, tables)
const eventTtlMs = config.EVENT_TTL_HOURS * 3_600_000
const store = new DynamoDbStore({ ...clients, tables, eventTtlMs })
const puts = new DynamoDbBulkPuts({ doc: clients.doc, tables, eventTtlMs })
const from = new SqliteExport(file)
try {
  const result = await moveToDynamoDb(from, { store, puts }, { now: Date.now(), eventTtlMs })
  process.stdout.write(`${JSON.stringify(result)}\n`)
  logger.info(result, 'moved')
} finally {
  from.close()
}
