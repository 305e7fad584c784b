/**
 * Ingest benchmark (`npm run bench:ingest`).
 *
 * Starts the real server as `npm start` runs it (the bundle in dist/server, rebuilt first;
 * default LOG_LEVEL=info, logs to a file) as a child process on a fresh DATA_DIR, drives it
 * from this process with
 * autocannon (50 connections, realistic varied bodies), and checks that every acknowledged
 * event is in SQLite. Scenarios: single-event requests, 20-event batches, and the bare Hono
 * framework (`bench/baseline-server.ts`: read the body, parse it, answer) with the same
 * single-event and 20-event bodies as the ceiling of each. Results: bench/results/ingest.json.
 *
 * Each scenario gets a fresh server: a preflight (one request per user agent of the pool, each
 * fully accepted, none taken for a bot), a 5 s warm-up, then the measured run. That run is a
 * fixed number of requests (sized from the warm-up's rate to last ~15 s), so it ends only once
 * every request was answered: the events it added to SQLite must equal the events acked
 * (2xx responses × events per request) exactly. The exit code is 0 only for a valid run
 * (no non-2xx, no errors, counts equal) that meets every target.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import Database from 'better-sqlite3'
import { builtBaselineArgs, builtServerArgs } from './support/built-server.ts'
import { cleanupOnExit } from './support/cleanup.ts'
import { ProcessSampler } from './support/process-sampler.ts'
import { contention, gitState } from './support/run-context.ts'
import { BENCH_METRICS_TOKEN, rollupBacklog } from './support/server-metrics.ts'
import { type ServerProcess, startServerProcess } from './support/server-process.ts'
import { Traffic, USER_AGENTS } from './traffic.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'ingest.json')
const API_KEY = 'bench_ingest_key_0123456789'

const CONNECTIONS = 50
const WARMUP_SECONDS = 5
const MEASURE_SECONDS = 15
/** A measured run that has not finished by then is stopped and the benchmark marked invalid. */
const RUN_LIMIT_SECONDS = 45
/** The whole benchmark is killed past this. */
const GLOBAL_LIMIT_MS = 6 * 60_000
/**
 * For investigating, not for the recorded results: `BENCH_ONLY=single_event` runs one
 * scenario (and writes nothing), `BENCH_CPU_PROF=dir` has the server write a V8 CPU profile
 * there when it stops.
 */
const ONLY = process.env.BENCH_ONLY
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF
/** Node flags to try on the server beside npm start's (`BENCH_NODE_FLAGS="--flag …"`); a
 * recorded run names them in its environment. */
const EXTRA_NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const RSS_SAMPLE_MS = 500

const TARGETS = { singleEventRps: 4000, batchEventsPerS: 40_000, maxRssMb: 200 } as const

interface Scenario {
  name: string
  server: 'liveinsight' | 'baseline'
  eventsPerRequest: number
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'single_event', server: 'liveinsight', eventsPerRequest: 1 },
  { name: 'batch_20', server: 'liveinsight', eventsPerRequest: 20 },
  { name: 'baseline_hono', server: 'baseline', eventsPerRequest: 1 },
  // The floor for batches: the same 20-event bodies, only read and parsed.
  { name: 'baseline_hono_batch_20', server: 'baseline', eventsPerRequest: 20 },
]

// ---------------------------------------------------------------------------------------------
// Cleanup: every child and temp dir is registered, and removed on any way out.

const { children, tempDirs, cleanupSync } = cleanupOnExit(GLOBAL_LIMIT_MS)
const SERVER_ARGS = builtServerArgs()
const BASELINE_ARGS = builtBaselineArgs()

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// Server child process.

async function startServer(kind: Scenario['server']): Promise<ServerProcess> {
  const profile = CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : []
  const extra = kind === 'liveinsight' ? EXTRA_NODE_FLAGS : []
  const entry = kind === 'liveinsight' ? SERVER_ARGS : BASELINE_ARGS
  return startServerProcess({
    name: kind,
    args: [...profile, ...extra, ...entry],
    env: {
      API_KEY,
      LOG_LEVEL: 'info',
      SQLITE_SYNCHRONOUS: 'FULL',
      TRUST_PROXY: 'false',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      // One address sends everything here: a limit would measure 429s, not the collector.
      RATE_LIMIT_PER_MINUTE: '0',
    },
    children,
    tempDirs,
  })
}

// ---------------------------------------------------------------------------------------------
// Load generation.

/** Either a time box (warm-up) or a fixed number of requests that all get answered. */
type LoadShape = { seconds: number } | { requests: number }

interface LoadRun {
  result: autocannon.Result
  /** From the start to the last response, seconds. */
  seconds: number
  /** Responses received (any status). */
  completed: number
  /** Requests per second over the last 40 % of the run, once the JIT has mostly settled. */
  tailRps: number
  stoppedEarly: boolean
}

function runLoad(
  url: string,
  traffic: Traffic,
  eventsPerRequest: number,
  shape: LoadShape,
): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let lastResponse = started
    let completed = 0
    let mark = { at: started, completed: 0 }
    let stoppedEarly = false
    const byTime = 'seconds' in shape
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        ...(byTime ? { duration: shape.seconds } : { amount: shape.requests }),
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        requests: [
          {
            method: 'POST',
            path: '/api/events',
            setupRequest: (request) => {
              const generated = traffic.next(eventsPerRequest)
              return {
                ...request,
                headers: { ...request.headers, 'user-agent': generated.userAgent },
                body: generated.body,
              }
            },
          },
        ],
      },
      (error, result) => {
        clearTimeout(limit)
        if (error) {
          reject(error)
          return
        }
        const tailSeconds = (lastResponse - mark.at) / 1000
        resolve({
          result,
          seconds: (lastResponse - started) / 1000,
          completed,
          tailRps: tailSeconds > 0 ? (completed - mark.completed) / tailSeconds : 0,
          stoppedEarly,
        })
      },
    )
    const markAt = byTime ? started + shape.seconds * 600 : Number.POSITIVE_INFINITY
    const markAfter = byTime ? Number.POSITIVE_INFINITY : Math.floor(shape.requests * 0.6)
    instance.on('response', () => {
      completed++
      lastResponse = performance.now()
      if (mark.at === started && (lastResponse >= markAt || completed >= markAfter)) {
        mark = { at: lastResponse, completed }
      }
    })
    // A fixed-amount run that takes far longer than planned is cut off (and marked invalid).
    const limitSeconds = byTime ? shape.seconds + 15 : RUN_LIMIT_SECONDS
    const limit = setTimeout(() => {
      stoppedEarly = true
      instance.stop()
    }, limitSeconds * 1000)
  })
}

/** One request per user agent of the pool: each must be fully accepted, none taken for a bot. */
async function preflight(url: string, traffic: Traffic, eventsPerRequest: number) {
  for (const userAgent of USER_AGENTS) {
    const generated = traffic.next(eventsPerRequest, userAgent)
    const response = await fetch(`${url}/api/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': API_KEY,
        'user-agent': userAgent,
      },
      body: generated.body,
    })
    const text = await response.text()
    const expected = `"accepted":${eventsPerRequest},"duplicates":0,"bots":0,"rejected":[]`
    if (response.status !== 200 || !text.includes(expected)) {
      throw new Error(`preflight failed for ${userAgent}: ${response.status} ${text}`)
    }
  }
  return USER_AGENTS.length * eventsPerRequest
}

function storedEvents(dataDir: string): number {
  const db = new Database(join(dataDir, 'liveinsight.db'), { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number
  } finally {
    db.close()
  }
}

/**
 * The event count once the server is quiet: a time-boxed run ends with up to one request per
 * connection still in flight, which the server may commit after autocannon hung up.
 */
async function settledStoredEvents(dataDir: string): Promise<number> {
  let previous = storedEvents(dataDir)
  for (let i = 0; i < 20; i++) {
    await sleep(250)
    const current = storedEvents(dataDir)
    if (current === previous) return current
    previous = current
  }
  return previous
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

interface ScenarioResult {
  name: string
  events_per_request: number
  connections: number
  warmup: { seconds: number; requests: number; requests_per_s: number }
  /** The measured run: a fixed number of requests, sized from the warm-up to last ~15 s. */
  requests: number
  duration_s: number
  requests_per_s: number
  events_per_s: number
  latency_ms: { p50: number; p99: number; mean: number; max: number }
  non2xx: number
  status_codes: Record<string, number>
  errors: number
  timeouts: number
  stopped_early: boolean
  server_cpu_pct: number
  loadgen_cpu_pct: number
  /** Over the server's whole life: start, warm-up, measured run. */
  max_server_rss_mb: number
  /** Absent for the baseline, which stores nothing. */
  check?: {
    /** Measured run: 2xx responses × events per request. */
    acked_events: number
    /** Measured run: rows added to `events` while it ran, counted while the server still runs. */
    stored_events: number
    /** The same, counted again after a clean shutdown. */
    stored_after_shutdown: number
    stored_matches_acked: boolean
    /**
     * The roll-up: items still waiting for it when the run ended (GET /metrics), and how long
     * it then took to empty the queue. A backlog that drains in a second or two means the
     * roll-up keeps pace with the ingest rate; one that keeps growing means it does not.
     */
    rollup: { backlog_at_end: number; drain_s: number }
    /** Preflight + warm-up: acked events, and rows stored (the time-boxed warm-up may add up to one unanswered request per connection). */
    before_run: { acked_events: number; stored_events: number; consistent: boolean }
  }
}

const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits

function ackedEvents(run: LoadRun, eventsPerRequest: number): number {
  return run.result['2xx'] * eventsPerRequest
}

/** Opens the server's /metrics, where the roll-up backlog is (/health says only up or down). */
/** The backlog right after the run, then polls until the roll-up has emptied the queue. */
async function rollupDrain(url: string): Promise<{ backlog_at_end: number; drain_s: number }> {
  const started = performance.now()
  const backlog = await rollupBacklog(url)
  let left = backlog
  while (left > 0 && performance.now() - started < RUN_LIMIT_SECONDS * 1000) {
    await sleep(100)
    left = await rollupBacklog(url)
  }
  return { backlog_at_end: backlog, drain_s: round((performance.now() - started) / 1000, 1) }
}

async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const { eventsPerRequest } = scenario
  const stores = scenario.server === 'liveinsight'
  const traffic = new Traffic({ sessions: 3000, pages: 300 })
  const server = await startServer(scenario.server)
  const sampler = new ProcessSampler(server.pid, RSS_SAMPLE_MS)
  try {
    const preflightAcked = stores ? await preflight(server.url, traffic, eventsPerRequest) : 0
    process.stdout.write(`  ${scenario.name}: warm-up ${WARMUP_SECONDS} s… `)
    const warm = await runLoad(server.url, traffic, eventsPerRequest, { seconds: WARMUP_SECONDS })
    const warmAcked = preflightAcked + ackedEvents(warm, eventsPerRequest)
    const storedBefore = stores ? await settledStoredEvents(server.dataDir) : 0
    const requests = Math.max(CONNECTIONS * 20, Math.round(warm.tailRps * MEASURE_SECONDS))
    process.stdout.write(`${round(warm.tailRps)} req/s; measuring ${requests} requests… `)

    const serverCpu = sampler.cpuSeconds()
    const ownCpu = process.cpuUsage()
    const run = await runLoad(server.url, traffic, eventsPerRequest, { requests })
    const serverCpuPct = ((sampler.cpuSeconds() - serverCpu) / run.seconds) * 100
    const own = process.cpuUsage(ownCpu)
    const loadgenCpuPct = ((own.user + own.system) / 1e6 / run.seconds) * 100
    const rps = run.completed / run.seconds
    process.stdout.write(`${round(rps)} req/s\n`)

    let check: ScenarioResult['check']
    if (stores) {
      // Every answered request was committed before its answer: count while the server still
      // runs, then again after a clean shutdown (nothing unacknowledged may appear later).
      const acked = ackedEvents(run, eventsPerRequest)
      const stored = storedEvents(server.dataDir) - storedBefore
      const rollup = await rollupDrain(server.url)
      await server.stop()
      const afterShutdown = storedEvents(server.dataDir) - storedBefore
      const inFlightMax = CONNECTIONS * eventsPerRequest
      check = {
        acked_events: acked,
        stored_events: stored,
        stored_after_shutdown: afterShutdown,
        stored_matches_acked: stored === acked && afterShutdown === acked,
        rollup,
        before_run: {
          acked_events: warmAcked,
          stored_events: storedBefore,
          consistent: storedBefore >= warmAcked && storedBefore <= warmAcked + inFlightMax,
        },
      }
    }
    const { result } = run
    return {
      name: scenario.name,
      events_per_request: eventsPerRequest,
      connections: CONNECTIONS,
      warmup: {
        seconds: round(warm.seconds, 2),
        requests: warm.completed,
        requests_per_s: round(warm.tailRps),
      },
      requests: run.completed,
      duration_s: round(run.seconds, 2),
      requests_per_s: round(rps),
      events_per_s: round(ackedEvents(run, eventsPerRequest) / run.seconds),
      latency_ms: {
        p50: result.latency.p50,
        p99: result.latency.p99,
        mean: round(result.latency.mean, 2),
        max: result.latency.max,
      },
      non2xx: result.non2xx + warm.result.non2xx,
      status_codes: Object.fromEntries(
        Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
      ),
      errors: result.errors + warm.result.errors,
      timeouts: result.timeouts + warm.result.timeouts,
      stopped_early: run.stoppedEarly,
      server_cpu_pct: round(serverCpuPct),
      loadgen_cpu_pct: round(loadgenCpuPct),
      max_server_rss_mb: sampler.stop(),
      ...(check ? { check } : {}),
    }
  } finally {
    sampler.stop()
    await server.stop()
  }
}

function valid(result: ScenarioResult): boolean {
  return (
    result.non2xx === 0 &&
    result.errors === 0 &&
    !result.stopped_early &&
    (result.check?.stored_matches_acked ?? true) &&
    (result.check?.before_run.consistent ?? true)
  )
}

async function main(): Promise<void> {
  console.log(
    `ingest bench: ${CONNECTIONS} connections, ~${MEASURE_SECONDS} s per scenario, server LOG_LEVEL=info`,
  )
  const before = contention()
  if (before.loadavg_1m > 0.5 * cpus().length) {
    console.log(`  note: load average ${before.loadavg_1m} before start; other work skews results`)
  }
  const results: ScenarioResult[] = []
  if (ONLY) {
    const scenario = SCENARIOS.find((s) => s.name === ONLY)
    if (!scenario) throw new Error(`BENCH_ONLY: no scenario named ${ONLY}`)
    console.log(JSON.stringify(await runScenario(scenario), null, 2))
    return
  }
  for (const scenario of SCENARIOS) results.push(await runScenario(scenario))
  const after = contention()

  const byName = (name: string) => {
    const found = results.find((r) => r.name === name)
    if (!found) throw new Error(`missing scenario ${name}`)
    return found
  }
  const single = byName('single_event')
  const batch = byName('batch_20')
  const baseline = byName('baseline_hono')
  const baselineBatch = byName('baseline_hono_batch_20')
  const maxRss = Math.max(single.max_server_rss_mb, batch.max_server_rss_mb)
  const targets = {
    single_event_rps: {
      target: TARGETS.singleEventRps,
      measured: single.requests_per_s,
      pass: single.requests_per_s >= TARGETS.singleEventRps,
    },
    batch_events_per_s: {
      target: TARGETS.batchEventsPerS,
      measured: batch.events_per_s,
      pass: batch.events_per_s >= TARGETS.batchEventsPerS,
    },
    max_server_rss_mb: {
      target: TARGETS.maxRssMb,
      measured: maxRss,
      pass: maxRss <= TARGETS.maxRssMb,
    },
  }
  const runValid = results.every(valid)
  const allPass = Object.values(targets).every((t) => t.pass)
  const cpuList = cpus()
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu_count: cpuList.length,
    cpu_model: cpuList[0]?.model ?? 'unknown',
    git: gitState(),
    host_contention: { before, after },
    settings: {
      connections: CONNECTIONS,
      measure_seconds: MEASURE_SECONDS,
      server: 'dist/server/node.mjs with the node flags of npm start',
      log_level: 'info (stdout to a file)',
      sqlite_synchronous: 'FULL',
      load_generator: 'autocannon 8, in the bench process',
      ...(EXTRA_NODE_FLAGS.length ? { extra_node_flags: EXTRA_NODE_FLAGS.join(' ') } : {}),
    },
    scenarios: { single_event: single, batch_20: batch },
    baseline_hono_rps: baseline.requests_per_s,
    baseline_hono: baseline,
    baseline_hono_batch_20_events_per_s: baselineBatch.events_per_s,
    baseline_hono_batch_20: baselineBatch,
    targets,
    valid: runValid,
    pass: runValid && allPass,
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`)

  const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL')
  console.log('')
  for (const r of [single, batch, baseline, baselineBatch]) {
    console.log(
      `${r.name.padEnd(22)} ${String(r.requests_per_s).padStart(6)} req/s ${String(r.events_per_s).padStart(7)} events/s` +
        `  p50 ${r.latency_ms.p50} ms  p99 ${r.latency_ms.p99} ms  non2xx ${r.non2xx}  errors ${r.errors}` +
        `  rss ${r.max_server_rss_mb} MB  server cpu ${r.server_cpu_pct}%` +
        (r.check
          ? `  stored ${r.check.stored_events}/${r.check.acked_events} acked ${mark(r.check.stored_matches_acked)}`
          : ''),
    )
  }
  console.log('')
  console.log(
    `targets: single ≥${TARGETS.singleEventRps} req/s ${mark(targets.single_event_rps.pass)}, ` +
      `batch ≥${TARGETS.batchEventsPerS} events/s ${mark(targets.batch_events_per_s.pass)}, ` +
      `RSS ≤${TARGETS.maxRssMb} MB ${mark(targets.max_server_rss_mb.pass)}; run ${runValid ? 'valid' : 'INVALID'}`,
  )
  console.log(`results: ${RESULTS_FILE}`)
  process.exitCode = report.pass ? 0 : 1
}

try {
  await main()
} finally {
  cleanupSync()
}
