/**
 * What the AWS shape costs per million events (`npm run bench:aws-cost`), at 10 thousand,
 * 1 million and 100 million events a month, for each collector front door (REST API,
 * HTTP API, a Lambda function URL; CloudFront and its WAF in front of each).
 *
 *   1. builds the tracker, the dashboard's assets and the Lambda bundle (the code measured);
 *   2. drives the built tracker in Chromium over a fixed visit: events per request
 *      (aws-cost/tracker-visit.ts);
 *   3. reads what infra/terraform deploys: memory, architecture, log level and retention,
 *      the roll-up's BatchSize and window, alarms, dashboard, WAF, schedules (terraform.ts);
 *   4. replays the visit's requests on DynamoDB Local through the HTTP API, rolls them up in
 *      batches of each size the levels imply, times the collector's Lambda handler invoked
 *      with API Gateway events one at a time (its CPU a request is the one priced: no HTTP
 *      server or client in it), opens the dashboard, polls the live view, sends preflights,
 *      sweeps, and times a cold start of the bundle (replay.ts, lambda-collector.ts,
 *      lambda-init.ts);
 *   5. prices each level and front door (model.ts, prices.ts, levels.ts).
 *
 *   SHARDS (4)               stream shards of the Events table at every level
 *   RECORDS_PER_SIZE (200)   records rolled up at each measured batch size (at least 5 batches)
 *   WARMUP_EVENTS (300)      events collected and rolled up first, not counted
 *
 * Results: bench/results/aws-cost.json. Durations are measured against DynamoDB Local on this
 * machine: an upper bound of what Lambda bills.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ACTIVE_SESSION_MS } from '../src/live/live-window.ts'
import { FULL_READ_EVERY_MS, OVERLAP_MS } from '../src/live/stored-live-events.ts'
import {
  arrivalWeights,
  fitLine,
  LEVELS,
  rollupBatches,
  sizesToMeasure,
} from './aws-cost/levels.ts'
import {
  type Assumptions,
  FRONT_DOORS,
  fixedMonthly,
  type Measured,
  priceLevel,
  type RecordPackInputs,
} from './aws-cost/model.ts'
import { FREE_TIERS, PRICES } from './aws-cost/prices.ts'
import { runReplay } from './aws-cost/replay.ts'
import { report } from './aws-cost/report.ts'
import { readDeployedShape, sweepIntervalS } from './aws-cost/terraform.ts'
import { measureTrackerVisit, VISIT_SCRIPT } from './aws-cost/tracker-visit.ts'
import { contention, gitState } from './support/run-context.ts'

const started = performance.now()
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'aws-cost.json')
const envInt = (name: string, fallback: number) => {
  const raw = process.env[name]
  return raw ? Number(raw.replace(/_/g, '')) : fallback
}

/** A constant as the code has it (the model follows the code, not a copy of it). */
function constantIn(file: string, name: string): number {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const match = new RegExp(`const ${name} = ([\\d_]+)`).exec(text)
  if (!match?.[1]) throw new Error(`aws-cost: ${name} not found in ${file}`)
  return Number(match[1].replace(/_/g, ''))
}

/**
 * Lambda's own lines per invocation: START, END and REPORT (and INIT_START on a cold start)
 * are INFO-level system logs, not sent when infra/terraform sets system_log_level WARN
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
function platformLogBytes(memoryMb: number, systemLogLevel: string) {
  const id = randomUUID()
  const warm = [
    `START RequestId: ${id} Version: $LATEST\n`,
    `END RequestId: ${id}\n`,
    `REPORT RequestId: ${id}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 98 MB\t\n`,
  ]
  const cold = [
    `INIT_START Runtime Version: nodejs:22.v52\tRuntime Version ARN: arn:aws:lambda:ap-northeast-2::runtime:${'0'.repeat(64)}\n`,
    '\tInit Duration: 345.67 ms',
  ]
  const sent = systemLogLevel !== 'WARN'
  return {
    invocation: sent ? Buffer.byteLength(warm.join('')) : 0,
    cold_start_extra: sent ? Buffer.byteLength(cold.join('')) : 0,
    sample: [...warm, ...cold],
  }
}

// 1. The code measured.
const quiet = { cwd: ROOT, stdio: 'pipe' as const }
execFileSync('npm', ['run', '-s', 'build:tracker'], quiet)
execFileSync('npm', ['run', '-s', 'build:dashboard'], quiet)
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-lambda.ts'], quiet)

// 2. Events per request, from the real tracker in Chromium.
const visit = await measureTrackerVisit()

// 3. What is deployed.
const shape = await readDeployedShape()

/**
 * The record's packed days as bench/record-pack.ts measured them (its results file), per
 * event: the packer's transactions and reads, and a filtered 30-day page's read units.
 */
function recordPackInputs(): RecordPackInputs | undefined {
  const file = join(ROOT, 'bench', 'results', 'record-pack.json')
  if (!existsSync(file)) return undefined
  const r = JSON.parse(readFileSync(file, 'utf8'))
  const packedEvents: number = r.packer.events ?? (r.events * r.packer.days) / 30
  const perDay = r.packer.per_day
  const eventsPerDay = packedEvents / r.packer.days
  return {
    events: r.events,
    packer_wru_per_event: perDay.write_units / eventsPerDay,
    packer_rru_per_event: perDay.read_units / eventsPerDay,
    packer_ms_per_event: (r.packer.seconds * 1000) / packedEvents,
    // The last record-pack run measured the packed read only (runs.before 0): the same figure.
    page_rru_per_million_before:
      ((r.page.before ?? r.page.after).read_units_per_page / r.events) * 1e6,
    page_rru_per_million_after: (r.page.after.read_units_per_page / r.events) * 1e6,
    bytes_per_million_events: r.bytes_per_million_events,
  }
}
const recordPack = recordPackInputs()

const assumptions: Assumptions = {
  shards: envInt('SHARDS', 1),
  arrival_weights: arrivalWeights(0.6, 14),
  cold_starts: { idle_reclaim_s: 420, container_lifetime_s: 7200 },
  poll_interval_s: constantIn('src/dashboard/client/live.ts', 'POLL_MS') / 1000,
  live_window_s: ACTIVE_SESSION_MS / 1000,
  live_read_limit: constantIn('src/live/stored-live-events.ts', 'STORED_READ_LIMIT'),
  live_overlap_s: OVERLAP_MS / 1000,
  live_full_read_every_s: FULL_READ_EVERY_MS / 1000,
  session_record_wru: 1,
  unsummed_window_s: sweepIntervalS(shape),
  // https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
  vcpu_memory_mb: 1769,
  ...(recordPack ? { record_pack: recordPack } : {}),
}

// 4. The batch sizes the levels imply, measured.
const implied = LEVELS.flatMap((level) =>
  rollupBatches(
    // A record a request: the visit's events per request say how many.
    (level.events_per_month * visit.posts) / visit.events,
    assumptions.arrival_weights,
    assumptions.shards,
    shape.rollup_batching_window_s,
    shape.rollup_batch_size,
  ).map((h) => h.records_per_batch),
)
const sizes = sizesToMeasure(implied, [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000])
const recordsPerSize = envInt('RECORDS_PER_SIZE', 200)
const replay = await runReplay({
  visit,
  sizes,
  recordsAt: (size) => Math.max(recordsPerSize, 5 * size),
  warmupEvents: envInt('WARMUP_EVENTS', 300),
  logLevel: shape.log_level,
  seed: 23,
})
const platform = platformLogBytes(shape.memory_mb, shape.system_log_level)
const measured: Measured = {
  visit: {
    events: visit.events,
    requests: visit.posts,
    preflights: visit.preflights,
    request_bytes: visit.request_bytes_mean,
  },
  collect: replay.collect,
  preflight: replay.preflight,
  rollup: replay.rollup.map((r) => ({ size: r.size, per_batch: r.per_batch })),
  dashboard: {
    calls_per_open: replay.dashboard.calls_per_open,
    per_call: replay.dashboard.per_call,
    per_unsummed_event: replay.dashboard.per_unsummed_event,
  },
  realtime: {
    rru: fitLine(replay.realtime.polls.map((p) => ({ x: p.window, y: p.rru }))),
    ms: fitLine(replay.realtime.polls.map((p) => ({ x: p.window, y: p.ms }))),
    cpu_ms: fitLine(replay.realtime.polls.map((p) => ({ x: p.window, y: p.cpu_ms }))),
    log_bytes: replay.realtime.log_bytes,
    response_bytes: replay.realtime.response_bytes,
  },
  sweep: { run: replay.sweep.run, per_event: replay.sweep.per_event },
  session_copy: replay.session_copy.per_session,
  init: {
    ms: replay.init?.init_ms_median ?? 0,
    first_call_extra_ms: replay.init?.first_call_extra_ms_median ?? 0,
  },
  platform_log_bytes: {
    invocation: platform.invocation,
    cold_start_extra: platform.cold_start_extra,
  },
}

// 5. Priced.
const levels = LEVELS.flatMap((level) =>
  FRONT_DOORS.map((door) => ({
    level: level.name,
    dashboard_use: level.dashboard,
    ...priceLevel(level, door, measured, assumptions, shape, PRICES),
  })),
)
const fixed = fixedMonthly(measured, assumptions, shape, PRICES)
const seconds = (performance.now() - started) / 1000

const result = {
  measured_at: new Date().toISOString(),
  git: gitState(),
  machine: contention(),
  duration_s: Math.round(seconds),
  levels,
  fixed_monthly_usd: fixed,
  prices: PRICES,
  free_tiers: FREE_TIERS,
  deployed: shape,
  assumptions: {
    ...assumptions,
    shard_count_note:
      "One site: its requests' items share one partition key (src/storage/dynamodb/request-items.ts), and a partition key's stream records are in one shard, so one shard carries the site's records at every level (SHARDS sets another count, for sites of several keys).",
    arrival_curve:
      'Each hour of the day carries 1 + 0.6 cos(2 pi (h - 14) / 24) times the mean rate (peak at 14:00, 1.6x; trough 0.4x); every day alike, 30 days a month.',
    records_per_batch:
      'A record is a request (its item). min(BatchSize, 1 + requests per second per shard x MaximumBatchingWindowInSeconds), hour by hour; per-batch costs interpolated between the measured sizes (measured in records, that is requests, of the replayed visits).',
    cold_starts:
      'An arrival after more than idle_reclaim_s without one starts a container (Poisson arrivals); a warm container is replaced once per container_lifetime_s. Each cold start bills the measured init time and the first invocation extra time. Not documented by AWS: stated assumptions.',
    dashboard:
      'Each open: the page and two other periods (3 stats-api calls), measured with the counters summed, plus what the windows written since the last sweep add to a read (measured per event, with unsummed_window_s of traffic: the whole schedule interval, an upper bound); its live view polls /api/realtime every poll_interval_s (src/dashboard/client/live.ts) on realtime-api. The API stays on REST behind CloudFront whatever the collector uses.',
    live_window:
      'A container keeps what it read of the live window (src/live/stored-live-events.ts): a poll reads the events since its last read less live_overlap_s, and the whole window (at most live_read_limit events) every live_full_read_every_s; read units and duration a line in the events read, fitted on two measured sizes. Polls of one open are taken to reach one warm container.',
    preflights:
      "Counted in Chromium over the visit (fresh profile): the tracker's requests are CORS-simple (a text/plain body, the key in the query string), so a browser sends no preflight; each one would be an invocation of the collector like a POST.",
    record_packs:
      "The record's packed days (src/storage/dynamodb/README.md, Packed days) from bench/results/record-pack.json: the packer's write and read units and time per event of the packed days, in the sweep function's runs; a filtered 30-day page's read units grow with the month's events (measured at 1M, scaled). Not measured again by this bench: run tsx bench/record-pack.ts first.",
    session_record:
      'The next issue adds a session record: about one more small write (1 WRU) per session; a session is one visit of the script.',
    platform_log_lines: platform.sample,
  },
  measured: {
    visit: {
      script: VISIT_SCRIPT,
      events: visit.events,
      collector_posts: visit.posts,
      preflights: visit.preflights,
      events_per_request: visit.events_per_request,
      request_bytes_mean: visit.request_bytes_mean,
      requests: visit.requests.map((r) => ({ via: r.via, events: r.events, bytes: r.bytes })),
    },
    batch_sizes: sizes,
    model_inputs: measured,
    replay: {
      events: replay.events,
      requests: replay.requests,
      rollup: replay.rollup,
      realtime_polls: replay.realtime.polls,
      sweep: replay.sweep,
      session_copy: replay.session_copy,
      init: replay.init,
      dynamodb_usage_by_phase: replay.usage,
      log_bytes_by_phase: replay.log_bytes,
    },
  },
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`)
process.stdout.write(report(levels, fixed, seconds))
process.stdout.write(`  -> ${RESULTS_FILE}\n`)
