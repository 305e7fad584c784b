import { stdoutLogOutput } from '../log/log-output.ts'
import { createLogger } from '../log/logger.ts'
import { dynamoClients } from '../storage/dynamodb/clients.ts'
import { type DynamoDbLocal, startDynamoDbLocal } from '../storage/dynamodb/dynamodb-local.ts'
import { reachDynamoDb } from '../storage/dynamodb/reach.ts'
import { tableNamesFromEnv } from '../storage/dynamodb/tables.ts'
import { ensureTables, startDynamoDbService } from './aws/dynamodb-service.ts'
import { loadConfig, printBanner, stopOnSignals } from './process-host.ts'
import { exitOnStartupFailure } from './startup-failure.ts'

/**
 * `npm run dev:aws`: the AWS shape on this machine. Starts AWS's own DynamoDB Local (in
 * memory, or on disk in DYNAMODB_DATA_DIR) unless DYNAMODB_ENDPOINT names one already
 * running, creates the tables, and serves the same app, dashboard and tracker from the
 * DynamoDB store, with the stream poller running the roll-up handler.
 */
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL, stdoutLogOutput(config.LOG_FORMAT))
const failed = exitOnStartupFailure('dev:aws')
let local: DynamoDbLocal | undefined
let endpoint = process.env.DYNAMODB_ENDPOINT
if (!endpoint) {
  const dataDir = process.env.DYNAMODB_DATA_DIR
  local = await startDynamoDbLocal(dataDir ? { dataDir } : {}).catch(failed)
  endpoint = local.endpoint
}
const clients = dynamoClients({ endpoint, region: process.env.AWS_DEFAULT_REGION })
const tables = tableNamesFromEnv(process.env)
await reachDynamoDb(clients.ddb, endpoint).catch(failed)
await ensureTables(clients, tables)
// ADVERSARY_SEED=n: the stream poller delivers as AWS may on a bad day (duplicates, batches
// cut at random, two shards at once), drawn from that seed.
const adversarySeed = process.env.ADVERSARY_SEED
const server = await startDynamoDbService(
  config,
  logger,
  clients,
  tables,
  adversarySeed ? { adversary: { seed: Number(adversarySeed), duplicates: 0.2, shards: 2 } } : {},
).catch(failed)
const where = process.env.DYNAMODB_DATA_DIR
  ? `on disk in ${process.env.DYNAMODB_DATA_DIR}`
  : 'in memory'
printBanner(
  server,
  `DynamoDB ${local ? `Local (${where}, pid ${local.pid})` : ''} at ${endpoint}, tables ${Object.values(tables).join(', ')}`,
)
stopOnSignals(server, logger, async () => {
  await local?.stop()
})
