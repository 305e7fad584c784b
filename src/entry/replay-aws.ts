import { parseArgs } from 'node:util'
import { stdoutLogOutput } from '../log/log-output.ts'
import { createLogger } from '../log/logger.ts'
import { rollupOptions } from '../rollup/rollup-options.ts'
import { dynamoClients } from '../storage/dynamodb/clients.ts'
import { DynamoDbStore } from '../storage/dynamodb/dynamodb-store.ts'
import { reachDynamoDb } from '../storage/dynamodb/reach.ts'
import { tableNamesFromEnv } from '../storage/dynamodb/tables.ts'
import { replayFailedBatches } from './aws/replay-failed-batches.ts'
import { replayKept } from './aws/replay-kept.ts'
import { loadConfig } from './process-host.ts'
import { exitOnStartupFailure } from './startup-failure.ts'

/**
 * `npm run replay:aws [-- --dry-run] [--from DIR]`: counts the records the roll-up set aside
 * (src/entry/aws/replay-kept.ts), or with --from the batches the event source mapping gave up
 * on, downloaded from the failures bucket into DIR (replay-failed-batches.ts), each event
 * exactly once, in AWS's DynamoDB or the one DYNAMODB_ENDPOINT names, and prints what it did
 * as one line of JSON.
 */
const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    from: { type: 'string' },
  },
})
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL, stdoutLogOutput(config.LOG_FORMAT))
const clients = dynamoClients({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region: process.env.AWS_DEFAULT_REGION,
})
await reachDynamoDb(clients.ddb, process.env.DYNAMODB_ENDPOINT).catch(
  exitOnStartupFailure('replay:aws'),
)
const tables = tableNamesFromEnv(process.env)
const store = new DynamoDbStore({
  ...clients,
  tables,
  sessionTimeoutMs: config.SESSION_TIMEOUT_MINUTES * 60_000,
})
const options = {
  ...rollupOptions(config.SESSION_TIMEOUT_MINUTES * 60_000),
  now: Date.now(),
  dryRun: values['dry-run'] ?? false,
}
const result = values.from
  ? await replayFailedBatches(store, values.from, options)
  : await replayKept({ doc: clients.doc, tables, store }, options)
process.stdout.write(`${JSON.stringify({ dry_run: values['dry-run'] ?? false, ...result })}\n`)
logger.info(result, 'replayed')
await store.close()
