/**
 * Flood benchmark (`npm run bench:flood`): does the server's memory stay bounded when every
 * event is new?
 *
 * Starts the real server as `npm start` runs it (the bundle in dist/server, rebuilt first;
 * LOG_LEVEL=info, logs to a file) on a fresh DATA_DIR with TRUST_PROXY=true, and drives
 * `POST /api/events` from this process with autocannon (50 connections, 20-event batches) as
 * fast as the server answers, for 10 minutes by default. Every event has a session id never
 * seen before and every request a client address never seen before (X-Forwarded-For), with a
 * browser user agent and the current time: each event is a new session of a new visitor, the
 * worst case for whatever the server keeps per session or per visitor (the live window, the
 * day's visitor marks, open sessions).
 *
 * Recorded: the server's RSS every second, requests/s, events/s and non-2xx answers per 10 s,
 * and the roll-up backlog and lag (GET /metrics) every 5 s. At the end the load stops gracefully (each
 * connection's last batch is answered), the roll-up is given time to drain, and the events in
 * SQLite must equal the events acknowledged. Targets: RSS ≤ 256 MB throughout, a plateau (RSS
 * slope over the second half of the run ≤ 1 MB/min), 0 lost. PASS/FAIL is printed; the exit
 * code is 0 either way unless the benchmark itself broke.
 *
 *   npm run bench:flood                      # 10 minutes → bench/results/flood.json
 *   npm run bench:flood -- --seconds 60      # shorter: prints only (add --write to record)
 *   BENCH_FLOOD_SECONDS=60 npm run bench:flood
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import Database from 'better-sqlite3'
import { builtServerArgs } from './support/built-server.ts'
import { cleanupOnExit } from './support/cleanup.ts'
import { ProcessSampler, treeRssKb } from './support/process-sampler.ts'
import { contention, gitState } from './support/run-context.ts'
import { BENCH_METRICS_TOKEN, rollupBacklog, rollupLagSeconds } from './support/server-metrics.ts'
import { type ServerProcess, startServerProcess } from './support/server-process.ts'
import { USER_AGENTS } from './traffic.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'flood.json')
const API_KEY = 'bench_flood_key_0123456789'

const DEFAULT_SECONDS = 600
const CONNECTIONS = 50
const EVENTS_PER_REQUEST = 20
const RSS_EVERY_MS = 1000
const INTERVAL_MS = 10_000
const BACKLOG_EVERY_MS = 5000
/** After the load: how long the roll-up may take to empty its queue. */
const DRAIN_LIMIT_MS = 120_000
/** After the deadline: how long the last batches may take to be answered. */
const LAST_ANSWERS_LIMIT_MS = 15_000

const TARGETS = { maxRssMb: 256, plateauMbPerMin: 1, lost: 0 } as const

// ---------------------------------------------------------------------------------------------
// Arguments.

function runSettings(): { seconds: number; write: boolean; fullRun: boolean } {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, write: { type: 'boolean', default: false } },
  })
  const raw = values.seconds ?? process.env.BENCH_FLOOD_SECONDS
  const seconds = raw === undefined || raw === '' ? DEFAULT_SECONDS : Number(raw)
  // At least two minutes' worth of comparisons need two minutes; 20 s still shows the shape.
  if (!Number.isInteger(seconds) || seconds < 20) {
    throw new Error(`--seconds / BENCH_FLOOD_SECONDS: a whole number ≥ 20, not ${raw}`)
  }
  const fullRun = seconds === DEFAULT_SECONDS
  return { seconds, write: values.write || fullRun, fullRun }
}

const SETTINGS = runSettings()
// The run, the drain, building and starting: anything past this is a hang.
const { children, tempDirs, cleanupSync } = cleanupOnExit(
  SETTINGS.seconds * 1000 + DRAIN_LIMIT_MS + 5 * 60_000,
)

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits
const mb = (kb: number) => round(kb / 1024, 1)

// ---------------------------------------------------------------------------------------------
// The flood: every event a new session, every request a new client.

const PATHS = ['/', '/pricing', '/blog/launch', '/docs/getting-started', '/signup', '/about']
/** Unique within this run and unlike any earlier run's (the prefix is random). */
const RUN_PREFIX = randomBytes(6).toString('base64url')

class Flood {
  private requests = 0
  private events = 0

  /** A fresh client address per request: 10.0.0.1 upwards (16 M before it would repeat). */
  private address(n: number): string {
    return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  }

  next(): { userAgent: string; forwardedFor: string; body: string } {
    const n = ++this.requests
    const timestamp = Date.now()
    const parts: string[] = []
    for (let i = 0; i < EVENTS_PER_REQUEST; i++) {
      const id = `${RUN_PREFIX}-${(++this.events).toString(36)}`
      const path = PATHS[this.events % PATHS.length] as string
      parts.push(
        `{"event_id":"${id}","session_id":"${id}","timestamp":${timestamp},"event_type":"page_view","page_url":"https://example.com${path}","title":"Example","referrer":"https://www.google.com/"}`,
      )
    }
    return {
      userAgent: USER_AGENTS[n % USER_AGENTS.length] as string,
      forwardedFor: this.address(n),
      body: `{"events":[${parts.join(',')}]}`,
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Load generation with a graceful end.

interface IntervalStats {
  /** Seconds since the load started, at the interval's end. */
  t_s: number
  requests_per_s: number
  events_per_s: number
  non2xx: number
  /** The server's RSS at the interval's end. */
  rss_mb: number | null
}

interface FloodRun {
  seconds: number
  /** POSTs written to a connection. */
  sent: number
  /** POSTs answered (any status). */
  answered: number
  /** Events the 2xx answers said were accepted. */
  acked_events: number
  /** Events the 2xx answers counted as bots, duplicates or rejected (none are expected). */
  not_accepted_events: number
  non2xx: number
  status_codes: Record<string, number>
  errors: number
  timeouts: number
  latency_ms: { p50: number; p99: number; max: number }
  intervals: IntervalStats[]
}

/** The answer of POST /api/events: what of the batch was accepted. */
function acceptedOf(body: string): { accepted: number; other: number } {
  try {
    const { data } = JSON.parse(body) as {
      data?: { accepted?: number; duplicates?: number; bots?: number; rejected?: unknown[] }
    }
    return {
      accepted: data?.accepted ?? 0,
      other: (data?.duplicates ?? 0) + (data?.bots ?? 0) + (data?.rejected?.length ?? 0),
    }
  } catch {
    return { accepted: 0, other: EVENTS_PER_REQUEST }
  }
}

/**
 * Floods for `seconds`, then ends without leaving a batch unanswered: from the deadline on,
 * each connection's next request is a GET /health, and autocannon is stopped once every POST
 * written has its answer (a time-boxed autocannon run would hang up on up to one batch per
 * connection that the server may still commit, and "stored = acknowledged" could not be
 * checked exactly). Counts come from the answers themselves: `accepted` of each 2xx.
 */
function flood(url: string, seconds: number, rssMb: () => number | null): Promise<FloodRun> {
  const generator = new Flood()
  const started = performance.now()
  let draining = false
  let sent = 0
  let answered = 0
  let acked = 0
  let notAccepted = 0
  let non2xx = 0
  const statusCodes: Record<string, number> = {}
  const intervals: IntervalStats[] = []
  let window = { requests: 0, events: 0, non2xx: 0, at: started }

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        // Longer than the run: it is stopped below, once the last batch is answered.
        duration: seconds + LAST_ANSWERS_LIMIT_MS / 1000 + 60,
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        requests: [
          {
            method: 'POST',
            path: '/api/events',
            // Called for each request right before it is written (pipelining 1); `context` is
            // the connection's own, so its answer knows whether it was a batch.
            setupRequest: (request, context) => {
              if (draining) {
                context.post = false
                return { ...request, method: 'GET', path: '/health', body: Buffer.alloc(0) }
              }
              context.post = true
              sent++
              const next = generator.next()
              return {
                ...request,
                method: 'POST',
                path: '/api/events',
                headers: {
                  ...request.headers,
                  'user-agent': next.userAgent,
                  'x-forwarded-for': next.forwardedFor,
                },
                body: next.body,
              }
            },
            onResponse: (status, body, context) => {
              if (context.post !== true) return
              answered++
              window.requests++
              statusCodes[status] = (statusCodes[status] ?? 0) + 1
              if (status >= 200 && status < 300) {
                const { accepted, other } = acceptedOf(body)
                acked += accepted
                notAccepted += other
                window.events += accepted
              } else {
                non2xx++
                window.non2xx++
              }
            },
          },
        ],
      },
      (error, result) => {
        clearInterval(ticker)
        clearTimeout(deadline)
        clearInterval(lastAnswers)
        if (error) {
          reject(error)
          return
        }
        resolve({
          seconds: round((performance.now() - started) / 1000, 1),
          sent,
          answered,
          acked_events: acked,
          not_accepted_events: notAccepted,
          non2xx,
          status_codes: statusCodes,
          errors: result.errors,
          timeouts: result.timeouts,
          // autocannon's histogram mixes in the final GET /health answers: a handful at most.
          latency_ms: {
            p50: result.latency.p50,
            p99: result.latency.p99,
            max: result.latency.max,
          },
          intervals,
        })
      },
    )
    const ticker = setInterval(() => {
      const now = performance.now()
      const span = (now - window.at) / 1000
      const interval = {
        t_s: round((now - started) / 1000),
        requests_per_s: round(window.requests / span),
        events_per_s: round(window.events / span),
        non2xx: window.non2xx,
        rss_mb: rssMb(),
      }
      intervals.push(interval)
      process.stdout.write(
        `  ${String(interval.t_s).padStart(4)} s: ${interval.requests_per_s} req/s, ${interval.events_per_s} events/s, non-2xx ${interval.non2xx}, server RSS ${interval.rss_mb} MB\n`,
      )
      window = { requests: 0, events: 0, non2xx: 0, at: now }
    }, INTERVAL_MS)
    let lastAnswers: NodeJS.Timeout | undefined
    const deadline = setTimeout(() => {
      draining = true
      const since = performance.now()
      lastAnswers = setInterval(() => {
        // Unanswered POSTs after the limit (a timed-out or reset connection) are reported.
        if (answered >= sent || performance.now() - since > LAST_ANSWERS_LIMIT_MS) {
          clearInterval(lastAnswers)
          instance.stop()
        }
      }, 20)
    }, seconds * 1000)
  })
}

// ---------------------------------------------------------------------------------------------
// Watching the server.

interface RssSample {
  t_s: number
  rss_mb: number
}

/** The server's RSS (its whole process tree) every second, from `started` on. */
class RssTimeline {
  readonly samples: RssSample[] = []
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly pid: number,
    private readonly started: number,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), RSS_EVERY_MS)
  }

  private sample(): void {
    const kb = treeRssKb(this.pid)
    if (kb === undefined) return
    this.samples.push({ t_s: round((performance.now() - this.started) / 1000, 1), rss_mb: mb(kb) })
  }

  latestMb(): number | null {
    return this.samples.at(-1)?.rss_mb ?? null
  }

  stop(): void {
    clearInterval(this.timer)
  }
}

interface BacklogSample {
  t_s: number
  backlog: number
  /** How far stats trail ingestion: seconds since the oldest waiting item was accepted. */
  lag_s: number
  /** How long /metrics took to answer under the flood. */
  answer_ms: number
}

/** The roll-up's backlog and lag every few seconds until stopped (one at a time). */
function watchBacklog(url: string, started: number) {
  const samples: BacklogSample[] = []
  let running = true
  const done = (async () => {
    while (running) {
      const asked = performance.now()
      try {
        const [backlog, lag] = await Promise.all([rollupBacklog(url), rollupLagSeconds(url)])
        samples.push({
          t_s: round((asked - started) / 1000, 1),
          backlog,
          lag_s: lag,
          answer_ms: round(performance.now() - asked),
        })
      } catch {
        // the server is saturated or gone; the next sample says which
      }
      await sleep(Math.max(0, BACKLOG_EVERY_MS - (performance.now() - asked)))
    }
  })()
  return {
    samples,
    stop: async () => {
      running = false
      await done
    },
  }
}

/** Polls until the roll-up has emptied the queue, or the limit. */
async function drainRollup(url: string): Promise<{ backlog_at_end: number; drain_s: number }> {
  const started = performance.now()
  const backlog = await rollupBacklog(url)
  let left = backlog
  while (left > 0 && performance.now() - started < DRAIN_LIMIT_MS) {
    await sleep(200)
    left = await rollupBacklog(url)
  }
  return {
    backlog_at_end: backlog,
    drain_s: left > 0 ? Number.NaN : round((performance.now() - started) / 1000, 1),
  }
}

function storedEvents(dataDir: string): number {
  const db = new Database(join(dataDir, 'liveinsight.db'), { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number
  } finally {
    db.close()
  }
}

/** One batch, all of it accepted, none of it taken for a bot: the flood's bodies are right. */
async function preflight(url: string): Promise<number> {
  const sample = new Flood().next()
  const response = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': API_KEY,
      'user-agent': sample.userAgent,
      'x-forwarded-for': sample.forwardedFor,
    },
    body: sample.body,
  })
  const text = await response.text()
  const expected = `"accepted":${EVENTS_PER_REQUEST},"duplicates":0,"bots":0,"rejected":[]`
  if (response.status !== 200 || !text.includes(expected)) {
    throw new Error(`preflight failed: ${response.status} ${text}`)
  }
  return EVENTS_PER_REQUEST
}

// ---------------------------------------------------------------------------------------------
// Figures.

/** Least-squares slope of RSS over time, MB per minute. */
function slopeMbPerMin(samples: readonly RssSample[]): number {
  const n = samples.length
  if (n < 2) return Number.NaN
  const meanT = samples.reduce((a, s) => a + s.t_s, 0) / n
  const meanR = samples.reduce((a, s) => a + s.rss_mb, 0) / n
  let num = 0
  let den = 0
  for (const s of samples) {
    num += (s.t_s - meanT) * (s.rss_mb - meanR)
    den += (s.t_s - meanT) ** 2
  }
  return den === 0 ? Number.NaN : (num / den) * 60
}

function rssFigures(samples: readonly RssSample[], seconds: number) {
  const within = (from: number, to: number) =>
    samples.filter((s) => s.t_s >= from && s.t_s < to).map((s) => s.rss_mb)
  const stats = (values: number[]) =>
    values.length === 0
      ? null
      : {
          mean_mb: round(values.reduce((a, b) => a + b, 0) / values.length, 1),
          max_mb: Math.max(...values),
        }
  const during = samples.filter((s) => s.t_s <= seconds)
  // A minute, or half of a shorter run.
  const minute = Math.min(60, seconds / 2)
  return {
    peak_mb: Math.max(...samples.map((s) => s.rss_mb)),
    peak_during_load_mb: Math.max(...during.map((s) => s.rss_mb)),
    /** The last minute of the load against the minute before (each half the run, if shorter). */
    minute_s: minute,
    last_minute: stats(within(seconds - minute, seconds)),
    minute_before: stats(within(seconds - 2 * minute, seconds - minute)),
    slope_second_half_mb_per_min: round(
      slopeMbPerMin(during.filter((s) => s.t_s >= seconds / 2)),
      2,
    ),
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { seconds } = SETTINGS
  console.log(
    `flood bench: ${seconds} s, ${CONNECTIONS} connections, ${EVENTS_PER_REQUEST}-event batches, every event a new session, every request a new client`,
  )
  const before = contention()
  if (before.loadavg_1m > 0.5 * cpus().length) {
    console.log(`  note: load average ${before.loadavg_1m} before start; other work skews results`)
  }
  const args = builtServerArgs()
  const server: ServerProcess = await startServerProcess({
    name: 'flood',
    args,
    env: {
      API_KEY,
      LOG_LEVEL: 'info',
      SQLITE_SYNCHRONOUS: 'FULL',
      // The client address comes from X-Forwarded-For only behind a trusted proxy.
      TRUST_PROXY: 'true',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      // A new address per request is under any per-address limit anyway; off, to be sure the
      // flood measures memory at the highest rate the server accepts.
      RATE_LIMIT_PER_MINUTE: '0',
    },
    children,
    tempDirs,
  })
  const cpu = new ProcessSampler(server.pid, 60_000)
  try {
    const preflightEvents = await preflight(server.url)
    const storedBefore = storedEvents(server.dataDir)
    const started = performance.now()
    const rss = new RssTimeline(server.pid, started)
    const backlog = watchBacklog(server.url, started)
    const serverCpu = cpu.cpuSeconds()
    const run = await flood(server.url, seconds, () => rss.latestMb())
    const serverCpuPct = ((cpu.cpuSeconds() - serverCpu) / run.seconds) * 100
    await backlog.stop()
    const drain = await drainRollup(server.url)
    rss.stop()
    // Every batch was answered before the load stopped: the server adds nothing later.
    const stored = storedEvents(server.dataDir) - storedBefore
    await server.stop()
    const storedAfterShutdown = storedEvents(server.dataDir) - storedBefore
    const unanswered = run.sent - run.answered
    const lost = Math.max(0, run.acked_events - Math.min(stored, storedAfterShutdown))

    const memory = rssFigures(rss.samples, seconds)
    const targets = {
      max_rss_mb: {
        target: TARGETS.maxRssMb,
        measured: memory.peak_mb,
        pass: memory.peak_mb <= TARGETS.maxRssMb,
      },
      plateau_mb_per_min: {
        target: TARGETS.plateauMbPerMin,
        measured: memory.slope_second_half_mb_per_min,
        pass: memory.slope_second_half_mb_per_min <= TARGETS.plateauMbPerMin,
      },
      lost_events: { target: TARGETS.lost, measured: lost, pass: lost <= TARGETS.lost },
    }
    const exact = stored === run.acked_events && storedAfterShutdown === run.acked_events
    const valid = run.non2xx === 0 && run.errors === 0 && unanswered === 0 && exact
    const cpuList = cpus()
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu_count: cpuList.length,
      cpu_model: cpuList[0]?.model ?? 'unknown',
      git: gitState(),
      host_contention: { before, after: contention() },
      settings: {
        seconds,
        connections: CONNECTIONS,
        events_per_request: EVENTS_PER_REQUEST,
        traffic: 'every event a new session_id, every request a new X-Forwarded-For address',
        server: 'dist/server/node.mjs with the node flags of npm start',
        trust_proxy: true,
        log_level: 'info (stdout to a file)',
        sqlite_synchronous: 'FULL',
        load_generator: 'autocannon 8, in the bench process',
      },
      load: {
        duration_s: run.seconds,
        requests: run.answered,
        requests_per_s: round(run.answered / run.seconds),
        events_per_s: round(run.acked_events / run.seconds),
        latency_ms: run.latency_ms,
        non2xx: run.non2xx,
        status_codes: run.status_codes,
        errors: run.errors,
        timeouts: run.timeouts,
        server_cpu_pct: round(serverCpuPct),
        per_10s: run.intervals,
      },
      events: {
        preflight: preflightEvents,
        acknowledged: run.acked_events,
        not_accepted: run.not_accepted_events,
        unanswered_batches: unanswered,
        stored,
        stored_after_shutdown: storedAfterShutdown,
        lost,
        stored_equals_acknowledged: exact,
      },
      rss: { ...memory, every_second: rss.samples },
      rollup: { ...drain, backlog_during_load: backlog.samples },
      targets,
      valid,
      pass: valid && Object.values(targets).every((t) => t.pass),
    }

    const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL')
    const minutes = (m: { mean_mb: number; max_mb: number } | null) =>
      m ? `mean ${m.mean_mb} / max ${m.max_mb} MB` : 'n/a'
    const backlogs = backlog.samples.map((s) => s.backlog)
    const lags = backlog.samples.map((s) => s.lag_s).filter((lag) => !Number.isNaN(lag))
    console.log('')
    console.log(
      `load: ${report.load.requests_per_s} req/s, ${report.load.events_per_s} events/s over ${run.seconds} s, p99 ${run.latency_ms.p99} ms, non-2xx ${run.non2xx}, errors ${run.errors}, server cpu ${report.load.server_cpu_pct}%`,
    )
    console.log(
      `rss: peak ${memory.peak_mb} MB (during load ${memory.peak_during_load_mb}); last ${memory.minute_s} s ${minutes(memory.last_minute)}; the ${memory.minute_s} s before ${minutes(memory.minute_before)}; slope over the second half ${memory.slope_second_half_mb_per_min} MB/min`,
    )
    console.log(
      `events: acknowledged ${run.acked_events}, stored ${stored} (after shutdown ${storedAfterShutdown}), lost ${lost}, unanswered batches ${unanswered}`,
    )
    console.log(
      `roll-up backlog: max ${backlogs.length ? Math.max(...backlogs) : 'n/a'} during the load (${backlogs.length} samples), ${drain.backlog_at_end} at the end, drained in ${Number.isNaN(drain.drain_s) ? `NOT within ${DRAIN_LIMIT_MS / 1000} s` : `${drain.drain_s} s`}; stats trailed by at most ${lags.length ? Math.max(...lags) : 'n/a'} s`,
    )
    console.log(
      `targets: RSS ≤${TARGETS.maxRssMb} MB ${mark(targets.max_rss_mb.pass)}, plateau ≤${TARGETS.plateauMbPerMin} MB/min ${mark(targets.plateau_mb_per_min.pass)}, lost ${TARGETS.lost} ${mark(targets.lost_events.pass)}; run ${valid ? 'valid' : 'INVALID'}`,
    )
    if (SETTINGS.write) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
      writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`)
      console.log(`results: ${RESULTS_FILE}`)
    } else {
      console.log(`(a ${seconds} s run: nothing written; --write records it)`)
    }
  } finally {
    cpu.stop()
    await server.stop()
  }
}

try {
  await main()
} finally {
  cleanupSync()
}
