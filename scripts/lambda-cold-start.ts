/**
 * Times a cold start of each Lambda handler (`scripts/build.sh` runs it after the build): a
 * fresh Node process per handler loads dist/lambda/package/lambda.mjs against a DynamoDB
 * Local started here, and answers one real-shaped event; the time from spawning the process
 * to that answer is what an invocation of a new container adds, less Lambda's own start.
 *   tsx scripts/lambda-cold-start.ts
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { dynamoClients } from '../src/storage/dynamodb/clients.ts'
import { startDynamoDbLocal } from '../src/storage/dynamodb/dynamodb-local.ts'
import { createTables, prefixedTableNames } from '../src/storage/dynamodb/tables.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = pathToFileURL(join(root, 'dist', 'lambda', 'package', 'lambda.mjs')).href
const run = promisify(execFile)

const healthEvent = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/health',
  rawQueryString: '',
  headers: { host: 'example.execute-api.ap-northeast-2.amazonaws.com' },
  requestContext: {
    http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1' },
    requestId: 'cold-start',
    routeKey: '$default',
    stage: '$default',
    timeEpoch: Date.now(),
  },
  isBase64Encoded: false,
}
const invocations: Record<string, unknown> = {
  http: healthEvent,
  rollup: { Records: [] },
  sweep: { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
}

const local = await startDynamoDbLocal()
try {
  const tables = prefixedTableNames('coldstart')
  const clients = dynamoClients({ endpoint: local.endpoint })
  await createTables(clients.ddb, tables)
  const env = {
    ...process.env,
    DYNAMODB_ENDPOINT: local.endpoint,
    EVENTS_TABLE: tables.events,
    SESSIONS_TABLE: tables.sessions,
    STATE_TABLE: tables.state,
    ADMIN_PASSWORD: 'cold-start-password',
    LOG_LEVEL: 'silent',
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  }
  for (const [name, event] of Object.entries(invocations)) {
    const script = `const m = await import(${JSON.stringify(bundle)});
const answer = await m.${name}(${JSON.stringify(event)}, {});
process.stdout.write(JSON.stringify({ status: answer?.statusCode ?? 'ok' }));
process.exit(0)`
    const started = performance.now()
    const { stdout } = await run(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script],
      { env, cwd: root },
    )
    const ms = Math.round(performance.now() - started)
    process.stdout.write(`cold start: lambda.${name} answered ${stdout.trim()} in ${ms} ms\n`)
  }
  clients.ddb.destroy()
} finally {
  await local.stop()
}
