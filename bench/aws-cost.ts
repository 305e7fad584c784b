/**
 * What the AWS shape costs per million events (`npm run bench:aws-cost`).
 *
 * Runs the DynamoDB shape in this process on AWS's own DynamoDB Local (the collector, the
 * roll-up handler fed from the Events stream, the dashboard's reads), replays a realistic
 * mix through its HTTP API and counts every request the code sends to DynamoDB and the read
 * and write units it consumed, as DynamoDB Local reports them (bench/support/capacity-meter.ts).
 * Then prices a million events at the ap-northeast-2 on-demand prices below.
 *
 *   BENCH_EVENTS (10,000)   events collected, in tracker-sized requests of 1-5 events
 *   OPENS_PER_MILLION (300) dashboard opens per million events (a site of a million events a
 *                           month opened about ten times a day)
 *   POLLS_PER_OPEN (40)     realtime polls per open (two minutes at one poll every 3 s)
 *   BATCH_SIZE (100)        stream records per roll-up batch (the event source mapping's
 *                           BatchSize: counter rows shared by a batch's events are written once)
 *
 * Results: bench/results/aws-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../src/config/env.ts'
import { startDynamoDbService } from '../src/entry/aws/dynamodb-service.ts'
import { createLogger } from '../src/log/logger.ts'
import { dynamoClients } from '../src/storage/dynamodb/clients.ts'
import { startDynamoDbLocal } from '../src/storage/dynamodb/dynamodb-local.ts'
import { createTables, tableNamesFromEnv } from '../src/storage/dynamodb/tables.ts'
import { signIn } from '../src/testing/sign-in.ts'
import { CapacityMeter, itemBytes } from './support/capacity-meter.ts'
import { gitState } from './support/run-context.ts'
import { Traffic } from './traffic.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'aws-cost.json')
const envInt = (name: string, fallback: number) => {
  const raw = process.env[name]
  return raw ? Number(raw.replace(/_/g, '')) : fallback
}
const EVENTS = envInt('BENCH_EVENTS', 10_000)
const OPENS_PER_MILLION = envInt('OPENS_PER_MILLION', 300)
const POLLS_PER_OPEN = envInt('POLLS_PER_OPEN', 40)
const BATCH_SIZE = envInt('BATCH_SIZE', 100)
const CONCURRENCY = 8
const PASSWORD = 'bench-aws-cost-password'

/**
 * On-demand prices in ap-northeast-2 (Seoul), USD, as assumed here: DynamoDB's after AWS's
 * November 2024 cut (half the earlier $1.4135 / $0.283 per million), Lambda x86 and API
 * Gateway REST at their published Seoul rates. Check the pricing pages before relying on them.
 */
const PRICES = {
  dynamodb_write_per_million_units: 0.7068,
  dynamodb_read_per_million_units: 0.1414,
  lambda_per_million_requests: 0.2,
  lambda_per_gb_second: 0.0000166667,
  lambda_memory_gb: 0.5,
  api_gateway_rest_per_million: 3.5,
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

const tables = tableNamesFromEnv({})
// What the tables' global indexes add per item written (tables.ts): the live view's copy of
// an event (about 300 bytes) and a user's key; a session's copies in IdIndex and UserIndex.
const meter = new CapacityMeter((table, item) => {
  if (!item) return 0
  if (table === tables.events) return (item.site_id ? 1 : 0) + (item.user_key ? 1 : 0)
  if (table === tables.sessions) {
    const size = Math.ceil(itemBytes(item) / 1024)
    return size * (1 + (item.user_key ? 1 : 0))
  }
  return 0
})
const local = await startDynamoDbLocal()
const clients = dynamoClients({ endpoint: local.endpoint })
meter.attach(clients.ddb)
await createTables(clients.ddb, tables)
const config = parseConfig({
  PORT: '0',
  ADMIN_PASSWORD: PASSWORD,
  RATE_LIMIT_PER_MINUTE: '0',
  TRUST_PROXY: '1',
  LOG_LEVEL: 'silent',
})
const rollupMs: number[] = []
let rollupRecords = 0
const server = await startDynamoDbService(config, createLogger('silent'), clients, tables, {
  batchSize: BATCH_SIZE,
  wrapHandler: (handler) => (event) =>
    meter.run('rollup', async () => {
      const started = performance.now()
      try {
        return await handler(event)
      } finally {
        rollupMs.push(performance.now() - started)
        rollupRecords += event.Records.length
      }
    }),
})

try {
  // Collect: tracker-sized requests from many sessions, each session from its own address.
  meter.phase = 'collect'
  const traffic = new Traffic({ sessions: Math.max(50, Math.round(EVENTS / 8)), pages: 300 })
  const collectMs: number[] = []
  let sent = 0
  let requests = 0
  const worker = async (n: number) => {
    while (sent < EVENTS) {
      const count = Math.min(EVENTS - sent, 1 + ((requests * 7 + n) % 5))
      sent += count
      requests++
      const request = traffic.next(count)
      const started = performance.now()
      const res = await fetch(`${server.url}/api/events`, {
        method: 'POST',
        headers: {
          'x-api-key': server.site.api_key,
          'user-agent': request.userAgent,
          'x-forwarded-for': `10.${requests % 250}.${n}.${requests % 199}`,
        },
        body: request.body,
      })
      collectMs.push(performance.now() - started)
      if (res.status !== 200) throw new Error(`collector answered ${res.status}`)
      await res.arrayBuffer()
    }
  }
  const collectStarted = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => worker(n)))
  const collectSeconds = (performance.now() - collectStarted) / 1000
  await server.settle()

  const token = await signIn(server.url, PASSWORD)
  const get = async (path: string) => {
    const started = performance.now()
    const res = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
    return performance.now() - started
  }

  // A dashboard open: the page (stats for today, the live panel), then two other periods.
  meter.phase = 'dashboard'
  const opens = 5
  const dashboardMs: number[] = []
  for (let i = 0; i < opens; i++) {
    for (const path of [
      '/',
      `/api/stats?site=default&period=7d`,
      `/api/stats?site=default&period=30d`,
    ]) {
      dashboardMs.push(await get(path))
    }
    // Answers are cached 30 s while the counters are unchanged: a second open in the same
    // half minute is cheaper; each open here is measured cold.
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const dashboardUsage = meter.of('dashboard')

  meter.phase = 'realtime'
  const polls = 20
  const pollMs: number[] = []
  for (let i = 0; i < polls; i++) pollMs.push(await get('/api/realtime?site=default'))
  const realtimeUsage = meter.of('realtime')

  // Per million events. The realtime read scales with the events of the last half hour:
  // here every event is recent; a site of a million events a month has about 700 there.
  const perMillion = 1_000_000 / EVENTS
  const collect = meter.of('collect')
  // The local poller records each delivered batch (one PutItem): the event source mapping's
  // own bookkeeping on AWS, which costs nothing there.
  collect.write_units -= collect.requests.PutItemCommand ?? 0
  const rollup = meter.of('rollup')
  const windowEvents = EVENTS
  const monthWindowEvents = 1_000_000 / (30 * 48)
  const pollReadUnits = realtimeUsage.read_units / polls
  const pollReadUnitsMonth = pollReadUnits * Math.min(1, monthWindowEvents / windowEvents)
  const openReadUnits = dashboardUsage.read_units / opens
  const dashboardCalls = OPENS_PER_MILLION * 3
  const realtimeCalls = OPENS_PER_MILLION * POLLS_PER_OPEN
  const dynamo = {
    collect_write_units: collect.write_units * perMillion,
    collect_read_units: collect.read_units * perMillion,
    rollup_write_units: rollup.write_units * perMillion,
    rollup_read_units: rollup.read_units * perMillion,
    dashboard_read_units: openReadUnits * OPENS_PER_MILLION,
    realtime_read_units: pollReadUnitsMonth * realtimeCalls,
  }
  const writeUnits = dynamo.collect_write_units + dynamo.rollup_write_units
  const readUnits =
    dynamo.collect_read_units +
    dynamo.rollup_read_units +
    dynamo.dashboard_read_units +
    dynamo.realtime_read_units
  const dynamoUsd =
    (writeUnits / 1e6) * PRICES.dynamodb_write_per_million_units +
    (readUnits / 1e6) * PRICES.dynamodb_read_per_million_units
  // Lambda: one invocation per collector request, per roll-up batch, per dashboard call;
  // durations as measured here (an upper bound: DynamoDB Local on this 2-core VM).
  const collectorInvocations = requests * perMillion
  const rollupInvocations = rollupMs.length * perMillion
  const gbSeconds =
    ((collectorInvocations * median(collectMs) +
      rollupInvocations * median(rollupMs) +
      dashboardCalls * median(dashboardMs) +
      realtimeCalls * median(pollMs)) /
      1000) *
    PRICES.lambda_memory_gb
  const invocations = collectorInvocations + rollupInvocations + dashboardCalls + realtimeCalls
  const lambdaUsd =
    (invocations / 1e6) * PRICES.lambda_per_million_requests +
    gbSeconds * PRICES.lambda_per_gb_second
  const apiRequests = collectorInvocations + dashboardCalls + realtimeCalls
  const apiUsd = (apiRequests / 1e6) * PRICES.api_gateway_rest_per_million
  // An open dashboard for an hour: polling every 3 s (1,200 requests) at this site's size.
  const pollUsd =
    (pollReadUnitsMonth / 1e6) * PRICES.dynamodb_read_per_million_units +
    PRICES.lambda_per_million_requests / 1e6 +
    (median(pollMs) / 1000) * PRICES.lambda_memory_gb * PRICES.lambda_per_gb_second +
    PRICES.api_gateway_rest_per_million / 1e6
  const result = {
    measured_at: new Date().toISOString(),
    git: gitState(),
    events: EVENTS,
    batch_size: BATCH_SIZE,
    requests,
    collect_events_per_s: Math.round(EVENTS / collectSeconds),
    rollup: { batches: rollupMs.length, records: rollupRecords, median_ms: median(rollupMs) },
    usage: Object.fromEntries(meter.usage),
    per_event: {
      collect_write_units: collect.write_units / EVENTS,
      rollup_write_units: rollup.write_units / EVENTS,
      rollup_read_units: rollup.read_units / EVENTS,
      dynamodb_requests_collect: meter.requestsOf('collect') / EVENTS,
      dynamodb_requests_rollup: meter.requestsOf('rollup') / EVENTS,
    },
    per_call: {
      dashboard_open: {
        requests: meter.requestsOf('dashboard') / opens,
        read_units: openReadUnits,
        median_ms: median(dashboardMs),
      },
      realtime_poll: {
        requests: meter.requestsOf('realtime') / polls,
        read_units_at_window: pollReadUnits,
        window_events: windowEvents,
        read_units_at_700_events: pollReadUnitsMonth,
        median_ms: median(pollMs),
      },
    },
    assumptions: {
      prices_usd: PRICES,
      opens_per_million: OPENS_PER_MILLION,
      polls_per_open: POLLS_PER_OPEN,
    },
    per_million_events: {
      dynamodb: { ...dynamo, write_units: writeUnits, read_units: readUnits, usd: dynamoUsd },
      lambda: { invocations, gb_seconds: gbSeconds, usd: lambdaUsd },
      api_gateway: { requests: apiRequests, usd: apiUsd },
      total_usd: dynamoUsd + lambdaUsd + apiUsd,
    },
    dashboard_hour_polling_usd: pollUsd * 1200,
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`)
  const usd = (n: number) => `$${n.toFixed(3)}`
  process.stdout.write(
    [
      `aws-cost: ${EVENTS} events in ${requests} requests, ${rollupMs.length} roll-up batches`,
      `  per event: ${result.per_event.collect_write_units.toFixed(2)} WRU collect, ${result.per_event.rollup_write_units.toFixed(2)} WRU + ${result.per_event.rollup_read_units.toFixed(2)} RRU roll-up`,
      `  per million events: DynamoDB ${usd(dynamoUsd)}, Lambda ${usd(lambdaUsd)}, API Gateway ${usd(apiUsd)}, total ${usd(result.per_million_events.total_usd)}`,
      `  an open dashboard for an hour (polling): ${usd(result.dashboard_hour_polling_usd)}`,
      `  -> ${RESULTS_FILE}`,
      '',
    ].join('\n'),
  )
} finally {
  await server.close()
  await local.stop()
}
