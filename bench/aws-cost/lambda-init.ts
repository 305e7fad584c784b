/**
 * A cold start's billed time: the built Lambda bundle (dist/lambda/package/lambda.mjs,
 * `tsx scripts/build-lambda.ts`) loaded in a fresh Node process against DynamoDB Local, as
 * the runtime loads it in a new container. The module builds its handlers at import (top-level
 * await), which is Lambda's INIT phase; the first invocation after it is slower than the next
 * ones (connections, lazy code), and that difference is counted too.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { DynamoClients } from '../../src/storage/dynamodb/clients.ts'
import { createTables, prefixedTableNames } from '../../src/storage/dynamodb/tables.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BUNDLE = pathToFileURL(join(ROOT, 'dist', 'lambda', 'package', 'lambda.mjs')).href
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
    timeEpoch: 0,
  },
  isBase64Encoded: false,
}

export interface InitMeasurement {
  runs: number
  /** From the process's start to the module loaded: Node's start and the INIT phase. */
  init_ms: number[]
  /** The first invocation less the median of the next five. */
  first_call_extra_ms: number[]
  init_ms_median: number
  first_call_extra_ms_median: number
  /**
   * The process's largest resident set after the init and six calls, MB: what a function's
   * memory must hold at least (Lambda's runtime adds its own).
   */
  max_rss_mb: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

export async function measureLambdaInit(
  endpoint: string,
  clients: DynamoClients,
  runs = 3,
): Promise<InitMeasurement> {
  const tables = prefixedTableNames('coldstart')
  await createTables(clients.ddb, tables)
  const env = {
    ...process.env,
    DYNAMODB_ENDPOINT: endpoint,
    EVENTS_TABLE: tables.events,
    SESSIONS_TABLE: tables.sessions,
    STATE_TABLE: tables.state,
    ADMIN_PASSWORD: 'cold-start-password',
    LOG_LEVEL: 'silent',
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
  }
  const script = `const m = await import(${JSON.stringify(BUNDLE)});
const init = performance.now();
const event = ${JSON.stringify(healthEvent)};
const times = [];
for (let i = 0; i < 6; i++) {
  const t = performance.now();
  await m.http({ ...event, requestContext: { ...event.requestContext, timeEpoch: Date.now() } }, {});
  times.push(performance.now() - t);
}
process.stdout.write(JSON.stringify({ init, times, rss: process.resourceUsage().maxRSS }));
process.exit(0)`
  const init: number[] = []
  const extra: number[] = []
  let rss = 0
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script],
      { env, cwd: ROOT },
    )
    const answer = JSON.parse(stdout) as { init: number; times: number[]; rss: number }
    rss = Math.max(rss, answer.rss / 1024)
    init.push(answer.init)
    const [first, ...rest] = answer.times
    extra.push(Math.max(0, (first ?? 0) - median(rest)))
  }
  return {
    runs,
    init_ms: init,
    first_call_extra_ms: extra,
    init_ms_median: median(init),
    first_call_extra_ms_median: median(extra),
    max_rss_mb: Math.round(rss),
  }
}
