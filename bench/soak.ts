/**
 * Soak: the built server (started as `npm start` starts it) under mixed load for a long time,
 * killed with SIGKILL half way and started again on the same data, to show that it neither
 * loses an acknowledged event nor slowly degrades.
 *
 *   npm run bench:soak                    # 10 minutes, writes bench/results/soak.json
 *   npm run bench:soak -- --seconds 120   # shorter: prints only (add --write to record)
 *
 * The load, all on loopback:
 * - the collector: autocannon, 20 connections, single events and 5-event batches in turn,
 *   each event with an id of its own, from a pool of 2,000 visitors (a site's real traffic);
 * - the dashboard: a signed-in client asking /api/stats (7 days) and /api/realtime in turn;
 * - live views: 5 Server-Sent-Events streams, reconnecting after the kill.
 * Half way the server gets SIGKILL while requests are in flight, and is started again on the
 * same data dir and port; the second half runs against it. At the end the server is stopped
 * gracefully (everything rolled up) and every acknowledged request's events are looked up in
 * the SQLite file: "lost" counts acknowledged events that are not there.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import Database from 'better-sqlite3'
import { builtServerArgs } from './support/built-server.ts'
import { cleanupOnExit } from './support/cleanup.ts'
import { treeRssKb } from './support/process-sampler.ts'
import { BENCH_METRICS_TOKEN, rollupBacklog } from './support/server-metrics.ts'
import { type ServerProcess, startServerProcess } from './support/server-process.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'soak.json')
const API_KEY = 'bench_soak_key_0123456789'
const PASSWORD = 'bench-soak-password'
const DEFAULT_SECONDS = 600
const CONNECTIONS = 20
const VISITORS = 2000
const SSE_CLIENTS = 5
const PATHS = ['/', '/pricing', '/blog/launch', '/docs', '/signup']
const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

function settings(): { seconds: number; write: boolean } {
  const args = process.argv.slice(2)
  const at = args.indexOf('--seconds')
  const raw = at >= 0 ? args[at + 1] : process.env.BENCH_SOAK_SECONDS
  const seconds = raw === undefined ? DEFAULT_SECONDS : Number(raw)
  if (!Number.isInteger(seconds) || seconds < 20) {
    throw new Error(`--seconds / BENCH_SOAK_SECONDS: a whole number ≥ 20, not ${raw}`)
  }
  return { seconds, write: seconds === DEFAULT_SECONDS || args.includes('--write') }
}

const SETTINGS = settings()
const { children, tempDirs } = cleanupOnExit((SETTINGS.seconds + 300) * 1000)
const SERVER_ARGS = builtServerArgs()
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits
const RUN = randomBytes(4).toString('hex')

function start(dataDir?: string, port?: number): Promise<ServerProcess> {
  return startServerProcess({
    name: 'soak',
    args: SERVER_ARGS,
    env: {
      API_KEY,
      ADMIN_PASSWORD: PASSWORD,
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      // info: the server says where it listens in its log (a line a request besides).
      LOG_LEVEL: 'info',
      SQLITE_SYNCHRONOUS: 'FULL',
      // One address sends everything: a limit would measure 429s.
      RATE_LIMIT_PER_MINUTE: '0',
      ...(dataDir ? { DATA_DIR: dataDir } : {}),
      ...(port ? { PORT: String(port) } : {}),
    },
    children,
    tempDirs,
  })
}

/** Events of request `n`: one or five, each id naming the request, so acks can be checked. */
function body(n: number): string {
  const count = n % 2 === 0 ? 1 : 5
  const now = Date.now()
  const visitor = n % VISITORS
  const events = Array.from({ length: count }, (_, i) => ({
    event_id: `${RUN}-${n}-${i}`,
    session_id: `soak-${visitor}`,
    event_type: i === 0 ? 'page_view' : 'click',
    page_url: `https://soak.example${PATHS[(n + i) % PATHS.length]}`,
    timestamp: now,
    user_agent: CHROME,
  }))
  return JSON.stringify({ events })
}

interface PhaseResult {
  seconds: number
  requests: number
  events_acknowledged: number
  events_per_s: number
  p99_ms: number
  non_2xx: number
  errors: number
}

/** Collector load for `seconds`; `acked` gets every acknowledged request's number and size. */
function ingest(url: string, seconds: number, acked: Map<number, number>, first: number) {
  let next = first
  let events = 0
  let non2xx = 0
  return new Promise<PhaseResult>((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        requests: [
          {
            method: 'POST',
            path: '/api/events',
            setupRequest: (request, context) => {
              const n = next++
              context.n = n
              return { ...request, body: body(n) }
            },
            onResponse: (status, text, context) => {
              if (status < 200 || status >= 300) {
                non2xx++
                return
              }
              const accepted = (JSON.parse(text) as { data: { accepted: number } }).data.accepted
              acked.set(context.n as number, accepted)
              events += accepted
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error)
        resolve({
          seconds,
          requests: result.requests.total,
          events_acknowledged: events,
          events_per_s: round(events / seconds),
          p99_ms: result.latency.p99,
          non_2xx: non2xx,
          errors: result.errors + result.timeouts,
        })
      },
    )
  }).then((result) => ({ result, next }))
}

/** A signed-in dashboard asking for stats and the live view in turn until stopped. */
function dashboard(getUrl: () => string, stopped: () => boolean) {
  const latencies: number[] = []
  let failures = 0
  const run = (async () => {
    let token = ''
    for (let i = 0; !stopped(); i++) {
      const url = getUrl()
      try {
        if (!token) {
          const login = await fetch(`${url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ password: PASSWORD }),
          })
          token = ((await login.json()) as { data: { token: string } }).data.token
        }
        const path =
          i % 2 === 0 ? '/api/stats?site=default&period=7d' : '/api/realtime?site=default'
        const asked = performance.now()
        const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })
        await res.arrayBuffer()
        if (res.ok) latencies.push(performance.now() - asked)
        else failures++
      } catch {
        failures++
        token = ''
      }
      await sleep(250)
    }
  })()
  return { run, latencies, failures: () => failures }
}

/** Live-view streams, reconnecting after a failure, counting the snapshots pushed. */
function streams(getUrl: () => string, stopped: () => boolean) {
  let pushes = 0
  let reconnects = 0
  const clients = Array.from({ length: SSE_CLIENTS }, async () => {
    while (!stopped()) {
      const controller = new AbortController()
      const stop = setInterval(() => stopped() && controller.abort(), 500)
      try {
        const url = getUrl()
        const login = await fetch(`${url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: PASSWORD }),
        })
        const { token } = ((await login.json()) as { data: { token: string } }).data
        const res = await fetch(`${url}/api/realtime/stream?site=default`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        })
        const reader = res.body?.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const chunk = await reader?.read()
          if (!chunk || chunk.done) break
          pushes += (decoder.decode(chunk.value).match(/^data:/gm) ?? []).length
        }
      } catch {
        // killed server or stopped: reconnect unless stopped
      } finally {
        clearInterval(stop)
      }
      if (!stopped()) {
        reconnects++
        await sleep(1000)
      }
    }
  })
  return { done: Promise.all(clients), pushes: () => pushes, reconnects: () => reconnects }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN, 1)
}

async function main(): Promise<void> {
  const { seconds } = SETTINGS
  const half = Math.floor(seconds / 2)
  console.log(
    `soak bench: ${seconds} s, ${CONNECTIONS} collector connections, a dashboard, ${SSE_CLIENTS} live streams, SIGKILL at ${half} s`,
  )
  const load = loadavg()[0] ?? 0
  if (load > 0.5)
    console.log(`  note: load average ${round(load, 2)} before start; other work skews results`)

  let server = await start()
  const port = Number(new URL(server.url).port)
  const dataDir = server.dataDir
  let stopped = false
  const rss: Array<{ t_s: number; mb: number }> = []
  const started = performance.now()
  const sampler = setInterval(() => {
    const kb = treeRssKb(server.pid)
    if (kb !== undefined)
      rss.push({ t_s: round((performance.now() - started) / 1000), mb: round(kb / 1024, 1) })
  }, 1000)
  const board = dashboard(
    () => server.url,
    () => stopped,
  )
  const live = streams(
    () => server.url,
    () => stopped,
  )
  const acked = new Map<number, number>()

  // First half; the kill lands a second before it ends, with requests in flight.
  const killer = setTimeout(() => server.child.kill('SIGKILL'), (half - 1) * 1000)
  const first = await ingest(server.url, half, acked, 0)
  clearTimeout(killer)
  await new Promise<void>((resolve) =>
    server.child.exitCode !== null || server.child.signalCode !== null
      ? resolve()
      : server.child.once('exit', () => resolve()),
  )
  const killedAt = round((performance.now() - started) / 1000)
  console.log(`  first half: ${first.result.events_per_s} events/s; SIGKILL at ${killedAt} s`)
  server = await start(dataDir, port)
  const restartedAt = round((performance.now() - started) / 1000)
  console.log(`  restarted at ${restartedAt} s on the same data`)
  const second = await ingest(server.url, seconds - half, acked, first.next)
  console.log(`  second half: ${second.result.events_per_s} events/s`)

  stopped = true
  await board.run
  await live.done
  clearInterval(sampler)
  const backlogAtEnd = await rollupBacklog(server.url).catch(() => Number.NaN)
  await server.stop()

  const db = new Database(join(dataDir, 'liveinsight.db'), { readonly: true, fileMustExist: true })
  const storedPerRequest = new Map<number, number>()
  for (const id of db
    .prepare('SELECT event_id FROM events WHERE event_id LIKE ?')
    .pluck()
    .iterate(`${RUN}-%`) as IterableIterator<string>) {
    const n = Number(id.split('-')[1])
    storedPerRequest.set(n, (storedPerRequest.get(n) ?? 0) + 1)
  }
  db.close()
  let ackedEvents = 0
  let lost = 0
  for (const [n, count] of acked) {
    ackedEvents += count
    lost += Math.max(0, count - (storedPerRequest.get(n) ?? 0))
  }
  let stored = 0
  for (const count of storedPerRequest.values()) stored += count

  const rssStart = rss.find((s) => s.t_s >= 30)?.mb ?? rss[0]?.mb ?? Number.NaN
  const rssEnd = rss.at(-1)?.mb ?? Number.NaN
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu_count: cpus().length,
    load_average_before: round(load, 2),
    seconds,
    phases: { before_kill: first.result, after_restart: second.result },
    kill: { at_s: killedAt, restarted_at_s: restartedAt },
    dashboard: {
      answers: board.latencies.length,
      failures: board.failures(),
      p50_ms: percentile(board.latencies, 0.5),
      p99_ms: percentile(board.latencies, 0.99),
    },
    live_streams: { pushes: live.pushes(), reconnects: live.reconnects() },
    rss_mb: {
      at_30_s: rssStart,
      at_end: rssEnd,
      max: Math.max(...rss.map((s) => s.mb)),
      samples: rss,
    },
    events: {
      acknowledged: ackedEvents,
      stored,
      lost,
      // Committed but never answered: the requests in flight at the kill.
      stored_unacknowledged: stored - (ackedEvents - lost),
      rollup_backlog_before_stop: backlogAtEnd,
    },
  }
  console.log(
    [
      `collector: ${first.result.events_per_s} / ${second.result.events_per_s} events/s before / after the kill, p99 ${first.result.p99_ms} / ${second.result.p99_ms} ms, non-2xx ${first.result.non_2xx + second.result.non_2xx}, socket errors ${first.result.errors + second.result.errors}`,
      `dashboard: ${board.latencies.length} answers, p99 ${result.dashboard.p99_ms} ms, ${board.failures()} failed (around the kill)`,
      `live streams: ${live.pushes()} pushes, ${live.reconnects()} reconnects`,
      `rss: ${rssStart} MB at 30 s, ${rssEnd} MB at the end, max ${result.rss_mb.max} MB`,
      `events: acknowledged ${ackedEvents}, stored ${stored}, lost ${lost} (${lost === 0 ? 'PASS' : 'FAIL'})`,
    ].join('\n'),
  )
  if (SETTINGS.write) {
    writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`written to ${RESULTS_FILE}`)
  } else {
    console.log(`(a ${seconds} s run: nothing written; --write records it)`)
  }
  process.exit(lost === 0 ? 0 : 1)
}

await main()
