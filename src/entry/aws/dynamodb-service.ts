import { CreateTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import type { Config } from '../../config/env.ts'
import type { Logger } from '../../log/logger.ts'
import { InProcessPipeline } from '../../pipeline/in-process-pipeline.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import type { DynamoClients } from '../../storage/dynamodb/clients.ts'
import { DynamoDbStore } from '../../storage/dynamodb/dynamodb-store.ts'
import { DynamoDbSignInAttempts } from '../../storage/dynamodb/sign-in-attempts.ts'
import { createTables, type TableNames, tableDefinitions } from '../../storage/dynamodb/tables.ts'
import type { Store } from '../../storage/store.ts'
import { type RunningService, startService } from '../service.ts'
import type { AdversaryOptions } from './adversarial-delivery.ts'
import { LocalStreamBacklog } from './local-stream-backlog.ts'
import { createRollupHandler, type RollupHandler } from './rollup-handler.ts'
import { StreamPoller } from './stream-poller.ts'

/** Creates the tables that are missing (a DynamoDB Local on disk keeps them between runs). */
export async function ensureTables(clients: DynamoClients, tables: TableNames): Promise<void> {
  const existing = new Set<string>()
  let ExclusiveStartTableName: string | undefined
  do {
    const page = await clients.ddb.send(new ListTablesCommand({ ExclusiveStartTableName }))
    for (const name of page.TableNames ?? []) existing.add(name)
    ExclusiveStartTableName = page.LastEvaluatedTableName
  } while (ExclusiveStartTableName)
  const names = Object.values(tables)
  if (names.every((name) => existing.has(name))) return
  if (names.every((name) => !existing.has(name))) return createTables(clients.ddb, tables)
  // Some exist: create only the others (their TTL settings come with createTables on a fresh set).
  for (const definition of tableDefinitions(tables)) {
    if (!existing.has(definition.TableName ?? '')) {
      await clients.ddb.send(new CreateTableCommand(definition))
    }
  }
}

/**
 * The collector's side of the AWS shape: it accepts and the Events stream rolls up (two
 * roll-ups pulling the same items would count them twice), and the live view is read from
 * the store per request, since one process sees only part of the traffic.
 */
export function acceptOnlyPipeline(store: Store, config: Config, logger: Logger) {
  return new InProcessPipeline(store, {
    sessionTimeoutMs: config.SESSION_TIMEOUT_MINUTES * 60_000,
    logger,
    live: 'stored',
    rollUp: false,
  })
}

/**
 * The AWS shape's service in one process, over DynamoDB (Local): the collector accepts into
 * the Events table and roll-ups run from its stream, fed to the Lambda roll-up handler by a
 * poller that does what the event source mapping does on AWS. The live view is read from the
 * store per request, and the dashboard polls it every 3 s, as behind API Gateway.
 */
export async function startDynamoDbService(
  config: Config,
  logger: Logger,
  clients: DynamoClients,
  tables: TableNames,
  options: {
    now?: () => number
    pollIntervalMs?: number
    /** Records per roll-up batch (the event source mapping's BatchSize; 100 by default). */
    batchSize?: number
    /** Wraps the roll-up handler (a benchmark attributes its requests to the roll-up). */
    wrapHandler?: (handler: RollupHandler) => RollupHandler
    /** The poller delivers as AWS may on a bad day (adversarial-delivery.ts). */
    adversary?: AdversaryOptions
  } = {},
): Promise<RunningService & { store: DynamoDbStore }> {
  const backlog = new LocalStreamBacklog(clients, tables)
  const sessionTimeoutMs = config.SESSION_TIMEOUT_MINUTES * 60_000
  const store = new DynamoDbStore({
    ...clients,
    tables,
    eventTtlMs: config.EVENT_TTL_HOURS * 3_600_000,
    sessionTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
    pulled: backlog,
  })
  const pipeline = acceptOnlyPipeline(store, config, logger)
  const made = createRollupHandler(store, rollupOptions(sessionTimeoutMs), logger)
  const handler = options.wrapHandler ? options.wrapHandler(made) : made
  const poller = new StreamPoller(backlog, store, handler, logger, {
    ...(options.pollIntervalMs ? { intervalMs: options.pollIntervalMs } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.adversary ? { adversary: options.adversary } : {}),
  })
  poller.start()
  const service = await startService(
    config,
    logger,
    {
      store,
      pipeline,
      background: poller,
      livePush: false,
      recordReport: (query) => store.columnarRecordReport(query),
      // As on Lambda: what a restart or another process on the same tables sees.
      signInAttempts: new DynamoDbSignInAttempts({ doc: clients.doc, table: tables.state }),
    },
    options.now ? { now: options.now } : {},
  )
  return { ...service, store }
}
