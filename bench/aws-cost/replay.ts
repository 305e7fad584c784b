/**
 * The DynamoDB shape measured on DynamoDB Local: the collector, the roll-up handler, the
 * dashboard's reads, the live view's polls, CORS preflights and the sweep, each counted in
 * DynamoDB requests and capacity units (bench/support/capacity-meter.ts), milliseconds, bytes
 * logged at the deployed log level, and bytes answered.
 *
 * Traffic is the tracker's: each session replays the requests the Chromium visit sent
 * (tracker-visit.ts), with its own session id, address, user agent and pages, among a pool of
 * concurrent sessions. Roll-up batches are cut to each size the model needs: the local poller
 * delivers only when asked (settle), and the wrapper hands the real handler batches of the
 * size being measured, each timed and metered on its own.
 *
 * The collector's time and CPU a request, which the model prices, are the Lambda handler's:
 * after the replay over HTTP, requests of the same traffic are handed one at a time to the
 * event-collector function's handler built in this process (lambda-collector.ts), as API
 * Gateway events. Over HTTP the process also spends CPU on the bench's fetch client and Node's
 * HTTP server, neither of which runs on Lambda; those figures are kept (http_ms, http_cpu_ms).
 */

import { randomBytes, randomUUID } from 'node:crypto'
import { parseConfig } from '../../src/config/env.ts'
import { seededRandom } from '../../src/core/seeded-random.ts'
import { startDynamoDbService } from '../../src/entry/aws/dynamodb-service.ts'
import { createLogger } from '../../src/log/logger.ts'
import { dynamoClients } from '../../src/storage/dynamodb/clients.ts'
import { COPY_BATCH } from '../../src/storage/dynamodb/copy-batches.ts'
import { startDynamoDbLocal } from '../../src/storage/dynamodb/dynamodb-local.ts'
import { Requests } from '../../src/storage/dynamodb/requests.ts'
import { COPY_IDLE_MS } from '../../src/storage/dynamodb/session-projection.ts'
import { createTables, tableNamesFromEnv } from '../../src/storage/dynamodb/tables.ts'
import { signIn } from '../../src/testing/sign-in.ts'
import { CapacityMeter, itemBytes, type PhaseUsage } from '../support/capacity-meter.ts'
import { USER_AGENTS } from '../traffic.ts'
import { startLambdaCollector } from './lambda-collector.ts'
import { type InitMeasurement, measureLambdaInit } from './lambda-init.ts'
import type { VisitResult } from './tracker-visit.ts'

const PASSWORD = 'bench-aws-cost-password'
const CONCURRENCY = 8
/**
 * Events sent one request at a time to time the collector (about 200 requests), over HTTP
 * and again to the Lambda handler.
 */
const SERIAL_EVENTS = 300
/** Requests to the Lambda handler before it is timed: a warm container's, not its first. */
const LAMBDA_WARMUP_REQUESTS = 30
const ACTIVE_SESSIONS = 200
const ORIGIN = 'https://example.com'
const REFERRERS = [
  '',
  '',
  'https://www.google.com/',
  'https://news.ycombinator.com/',
  'https://t.co/x7Kq2Lm9Ab',
]

export interface ReplayOptions {
  visit: VisitResult
  /** Roll-up batch sizes to measure, and the records to roll up at each. */
  sizes: number[]
  recordsAt: (size: number) => number
  warmupEvents: number
  logLevel: string
  seed: number
}

interface Timed {
  n: number
  ms: number
  log_bytes: number
  response_bytes: number
}

/**
 * CPU time this process has spent, ms. The server runs in this process (DynamoDB Local in
 * its own), so a phase's CPU over HTTP is the handlers' plus the bench's own requests and
 * Node's HTTP server: an upper bound on what the handlers need, which the model scales to a
 * function's share of a vCPU. The collector's is measured around each call of its Lambda
 * handler instead (collect-lambda), the process doing nothing else meanwhile.
 */
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const mean = (t: Timed, key: 'ms' | 'log_bytes' | 'response_bytes') => (t.n ? t[key] / t.n : 0)

/** Sessions replaying the visit's requests, interleaved as many visitors' would be. */
export class VisitTraffic {
  private readonly random
  private readonly pages: string[]
  private readonly active: {
    id: string
    ip: string
    ua: string
    next: number
    paths: Map<string, string>
    referrer: string
  }[] = []
  private made = 0

  constructor(
    private readonly visit: VisitResult,
    seed: number,
  ) {
    this.random = seededRandom(seed)
    this.pages = Array.from({ length: 300 }, (_, i) =>
      i === 0 ? '/' : `/${['blog', 'docs', 'products', 'guides', 'help'][i % 5]}/page-${i}`,
    )
    for (let i = 0; i < ACTIVE_SESSIONS; i++) this.active.push(this.newSession())
  }

  private newSession() {
    this.made++
    return {
      id: randomBytes(16).toString('base64url'),
      ip: `10.${(this.made >> 16) & 255}.${(this.made >> 8) & 255}.${this.made & 255}`,
      ua: USER_AGENTS[Math.floor(this.random() * USER_AGENTS.length)] as string,
      next: 0,
      paths: new Map<string, string>(),
      referrer: REFERRERS[Math.floor(this.random() * REFERRERS.length)] as string,
    }
  }

  /** A page of the site, the first ones far more often (Zipf-like), stable within a session. */
  private pageFor(session: (typeof this.active)[number], templatePath: string): string {
    let path = session.paths.get(templatePath)
    if (!path) {
      const rank = Math.floor(this.pages.length ** this.random()) - 1
      path = this.pages[Math.max(0, rank)] as string
      session.paths.set(templatePath, path)
    }
    return path
  }

  private mapUrl(session: (typeof this.active)[number], url: string): string {
    const parsed = new URL(url)
    return `${ORIGIN}${this.pageFor(session, parsed.pathname)}${parsed.search}`
  }

  /** The next request of a random active session: its body, address and user agent. */
  next(): { body: string; events: number; ip: string; ua: string } {
    const slot = Math.floor(this.random() * this.active.length)
    const session = this.active[slot] as (typeof this.active)[number]
    const template = this.visit.sent_events[session.next] ?? []
    const now = Date.now()
    const events = template.map((e) => {
      const out: Record<string, unknown> = {
        ...e,
        event_id: randomUUID(),
        session_id: session.id,
        timestamp: now,
        page_url: this.mapUrl(session, String(e.page_url)),
      }
      if (typeof e.referrer === 'string') {
        out.referrer = e.referrer.startsWith('http://127.0.0.1')
          ? this.mapUrl(session, e.referrer)
          : session.referrer
      }
      if (out.user_id === undefined) delete out.user_id
      return out
    })
    session.next++
    if (session.next >= this.visit.sent_events.length) this.active[slot] = this.newSession()
    return {
      body: JSON.stringify({ events }),
      events: events.length,
      ip: session.ip,
      ua: session.ua,
    }
  }
}

export async function runReplay(o: ReplayOptions) {
  const tables = tableNamesFromEnv({})
  const meter = new CapacityMeter((table, item) => {
    if (!item) return 0
    if (table === tables.events) return (item.site_id ? 1 : 0) + (item.user_key ? 1 : 0)
    if (table === tables.sessions) {
      const size = Math.ceil(itemBytes(item) / 1024)
      return size * (1 + (item.user_key ? 1 : 0))
    }
    return 0
  })
  // Bytes the handlers log, by what the bench is doing when they are written.
  let logPhase = 'setup'
  const logBytes = new Map<string, number>()
  const logger = createLogger(o.logLevel, {
    // JSON lines, as the functions write them on Lambda.
    format: 'json',
    destination: {
      write(line: string) {
        logBytes.set(logPhase, (logBytes.get(logPhase) ?? 0) + Buffer.byteLength(line))
      },
    },
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
    LOG_LEVEL: o.logLevel,
  })
  // Roll-up batches of the size being measured, each timed and metered on its own.
  let chunk = 100
  let label = 'warmup'
  const batches = new Map<
    number,
    { batches: number; records: number; ms: number; cpu_ms: number }
  >()
  // CPU ms by what the bench is doing (cpuMs).
  const cpu = new Map<string, number>()
  const cpuOf = async <T>(kind: string, work: () => Promise<T>): Promise<T> => {
    const before = cpuMs()
    try {
      return await work()
    } finally {
      cpu.set(kind, (cpu.get(kind) ?? 0) + cpuMs() - before)
    }
  }
  // The server's clock: moved on before the sessions' copy, which takes a session only once it
  // has been idle COPY_IDLE_MS, as the sweep meets the visits of a real month.
  let clockAhead = 0
  const server = await startDynamoDbService(config, logger, clients, tables, {
    now: () => Date.now() + clockAhead,
    batchSize: Math.max(...o.sizes, 100),
    pollIntervalMs: 3_600_000,
    wrapHandler: (handler) => async (event) => {
      for (let i = 0; i < event.Records.length; i += chunk) {
        const Records = event.Records.slice(i, i + chunk)
        const started = performance.now()
        const cpuBefore = cpuMs()
        const answer = await meter.run(label, () => handler({ Records }))
        const ms = performance.now() - started
        const cpuUsed = cpuMs() - cpuBefore
        if (answer.batchItemFailures.length > 0) {
          throw new Error(`roll-up reported ${answer.batchItemFailures.length} failures`)
        }
        if (label === 'warmup') continue
        const b = batches.get(chunk) ?? { batches: 0, records: 0, ms: 0, cpu_ms: 0 }
        b.batches++
        b.records += Records.length
        b.ms += ms
        b.cpu_ms += cpuUsed
        batches.set(chunk, b)
      }
      return { batchItemFailures: [] }
    },
  })
  const timed = new Map<string, Timed>()
  const note = (kind: string, ms: number, responseBytes: number) => {
    const t = timed.get(kind) ?? { n: 0, ms: 0, log_bytes: 0, response_bytes: 0 }
    t.n++
    t.ms += ms
    t.response_bytes += responseBytes
    timed.set(kind, t)
  }
  const responseBytes = async (res: Response) => {
    const body = (await res.arrayBuffer()).byteLength
    let headers = Buffer.byteLength(`HTTP/1.1 ${res.status} ${res.statusText}\r\n`)
    res.headers.forEach((v, k) => {
      headers += Buffer.byteLength(`${k}: ${v}\r\n`)
    })
    return headers + 2 + body
  }

  const traffic = new VisitTraffic(o.visit, o.seed)
  let collected = 0
  let requests = 0
  const collect = async (events: number, kind: string, workers = CONCURRENCY) => {
    const target = collected + events
    const worker = async () => {
      while (collected < target) {
        const r = traffic.next()
        collected += r.events
        requests++
        const started = performance.now()
        const res = await fetch(`${server.url}/api/events`, {
          method: 'POST',
          headers: {
            'x-api-key': server.site.api_key,
            'user-agent': r.ua,
            'x-forwarded-for': r.ip,
            'content-type': 'text/plain;charset=UTF-8',
          },
          body: r.body,
        })
        const bytes = await responseBytes(res)
        if (res.status !== 200) throw new Error(`collector answered ${res.status}`)
        note(kind, performance.now() - started, bytes)
      }
    }
    await Promise.all(Array.from({ length: workers }, worker))
  }
  const settle = async (size: number, warmup = false) => {
    chunk = size
    label = warmup ? 'warmup' : `rollup:${size}`
    meter.phase = 'poller'
    logPhase = label
    await server.settle()
  }

  let token = ''
  const get = async (kind: string, path: string) => {
    const started = performance.now()
    const res = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    const bytes = await responseBytes(res)
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
    note(kind, performance.now() - started, bytes)
  }
  const polls: { window: number; rru: number; ms: number; cpu_ms: number }[] = []
  const pollAt = async (count: number) => {
    const phase = `realtime@${collected}`
    meter.phase = phase
    logPhase = 'realtime'
    const before = timed.get('realtime')?.ms ?? 0
    const cpuBefore = cpuMs()
    for (let i = 0; i < count; i++) await get('realtime', '/api/realtime?site=default')
    polls.push({
      window: collected,
      rru: meter.of(phase).read_units / count,
      ms: ((timed.get('realtime')?.ms ?? 0) - before) / count,
      cpu_ms: (cpuMs() - cpuBefore) / count,
    })
  }

  let init: InitMeasurement | undefined
  try {
    // Warm-up: the site's first salt, counters version and visitors; not counted.
    meter.phase = 'warmup'
    logPhase = 'warmup'
    await collect(o.warmupEvents, 'warmup')
    await settle(100, true)
    meter.phase = 'signin'
    logPhase = 'signin'
    token = await signIn(server.url, PASSWORD)
    await pollAt(8)

    for (const size of o.sizes) {
      meter.phase = 'collect'
      logPhase = 'collect'
      await cpuOf('collect', () => collect(o.recordsAt(size), 'collect'))
      await settle(size)
    }

    // The collector's time and CPU a request, one request at a time: a Lambda container
    // serves one request at a time, where the concurrent replay above queues each request
    // behind the others' work in this one process. Over HTTP first (kept for comparison: it
    // counts the bench's client and Node's server too). Units are counted above; these
    // records are rolled up uncounted.
    meter.phase = 'collect-serial'
    logPhase = 'collect-serial'
    await cpuOf('collect-serial', () => collect(SERIAL_EVENTS, 'collect-serial', 1))

    // The same, handed to the event-collector function's handler as API Gateway events: the
    // time and CPU priced. A warm container: built, then a few requests, before it is timed.
    // Its items reach the Events stream like the server's, and are rolled up uncounted.
    meter.phase = 'collect-lambda'
    logPhase = 'collect-lambda'
    const lambda = await startLambdaCollector({
      endpoint: local.endpoint,
      tables,
      apiKey: server.site.api_key,
      password: PASSWORD,
      logLevel: o.logLevel,
    })
    const invoke = async (kind: string) => {
      const r = traffic.next()
      collected += r.events
      requests++
      const event = lambda.event(r)
      const started = performance.now()
      const cpuBefore = cpuMs()
      const answer = await lambda.invoke(event)
      const cpuUsed = cpuMs() - cpuBefore
      if (answer.statusCode !== 200)
        throw new Error(`collector handler answered ${answer.statusCode}`)
      note(kind, performance.now() - started, Buffer.byteLength(answer.body))
      cpu.set(kind, (cpu.get(kind) ?? 0) + cpuUsed)
    }
    for (let i = 0; i < LAMBDA_WARMUP_REQUESTS; i++) await invoke('collect-lambda-warmup')
    for (const target = collected + SERIAL_EVENTS; collected < target; ) {
      await invoke('collect-lambda')
    }
    await settle(100, true)

    // A CORS preflight, as Chromium sends it before the tracker's first fetch.
    meter.phase = 'preflight'
    logPhase = 'preflight'
    const preflightCpu = cpuMs()
    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      const res = await fetch(`${server.url}/api/events`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-api-key',
        },
      })
      const bytes = await responseBytes(res)
      if (res.status >= 300) throw new Error(`preflight answered ${res.status}`)
      note('preflight', performance.now() - started, bytes)
    }
    cpu.set('preflight', cpuMs() - preflightCpu)

    await pollAt(8)

    // A dashboard open: the page, then two other periods. Opened twice: here, with every
    // window of the run not yet summed (the counters of a whole replay read out of its
    // windows), and after the sweep has summed them, as a real month's dashboard finds them.
    // The difference, per event, is what a window not summed yet costs a read.
    const opens = 4
    const openDashboard = (kind: string) =>
      cpuOf(kind, async () => {
        meter.phase = kind
        logPhase = kind
        for (let i = 0; i < opens; i++) {
          for (const path of [
            '/',
            '/api/stats?site=default&period=7d',
            '/api/stats?site=default&period=30d',
          ]) {
            await get(kind, path)
          }
        }
      })
    await openDashboard('dashboard-unsummed')

    // The sweep's copy of the sessions into the Sessions table: every session of the run,
    // each once (session-projection.ts), priced per session copied.
    meter.phase = 'session-copy'
    logPhase = 'session-copy'
    clockAhead = COPY_IDLE_MS + 60_000
    let started = performance.now()
    const copied = await cpuOf('session-copy', () => server.store.copySessions())
    const copyMs = performance.now() - started
    // What deleting the copy's batches will bill the packer, a day after their days are packed
    // (copy-batches.ts, dropPacked): a delete bills the deleted item's size, 1 unit a KB begun.
    meter.phase = 'probe'
    const batchItems = await new Requests(clients.doc).queryAll({
      TableName: tables.state,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': COPY_BATCH.pk(server.site.id) },
    })
    const dropUnits = batchItems.reduce((sum, item) => sum + Math.ceil(itemSize(item) / 1024), 0)

    // The sweep: a scheduled run with nothing expired, then one that deletes every event.
    const eventTtlMs = config.EVENT_TTL_HOURS * 3_600_000
    meter.phase = 'sweep-run'
    logPhase = 'sweep'
    started = performance.now()
    await cpuOf('sweep-run', () => server.store.sweep({ now: Date.now(), eventTtlMs }))
    const sweepRunMs = performance.now() - started
    await openDashboard('dashboard')
    meter.phase = 'sweep-expired'
    logPhase = 'sweep-expired'
    started = performance.now()
    const swept = await cpuOf('sweep-expired', () =>
      server.store.sweep({ now: Date.now() + eventTtlMs + 60_000, eventTtlMs }),
    )
    const sweepExpiredMs = performance.now() - started

    meter.phase = 'setup'
    logPhase = 'init'
    init = await measureLambdaInit(local.endpoint, clients)

    for (const [kind, t] of timed) t.log_bytes = logBytes.get(kind) ?? 0
    const collectUsage = meter.of('collect')
    const collectTimed = timed.get('collect') as Timed
    const serial = timed.get('collect-serial') as Timed
    const handler = timed.get('collect-lambda') as Timed
    const perRequest = (u: PhaseUsage, n: number) => ({
      wru: u.write_units / n,
      rru: u.read_units / n,
      requests: Object.values(u.requests).reduce((a, b) => a + b, 0) / n,
    })
    const preflight = timed.get('preflight') as Timed
    const dashboard = timed.get('dashboard') as Timed
    const unsummed = timed.get('dashboard-unsummed') as Timed
    const realtime = timed.get('realtime') as Timed
    const run = meter.of('sweep-run')
    const expired = meter.of('sweep-expired')
    const deleted = Math.max(1, swept.events)
    return {
      events: collected,
      requests,
      usage: Object.fromEntries(meter.usage),
      log_bytes: Object.fromEntries(logBytes),
      collect: {
        ...perRequest(collectUsage, collectTimed.n),
        // The Lambda handler's, one request at a time: what the function spends.
        ms: mean(handler, 'ms'),
        cpu_ms: (cpu.get('collect-lambda') ?? 0) / handler.n,
        // Over HTTP, one at a time: with the bench's client and Node's server.
        http_ms: mean(serial, 'ms'),
        http_cpu_ms: (cpu.get('collect-serial') ?? 0) / serial.n,
        concurrent_ms: mean(collectTimed, 'ms'),
        log_bytes: (logBytes.get('collect') ?? 0) / collectTimed.n,
        response_bytes: mean(collectTimed, 'response_bytes'),
        requests_measured: collectTimed.n,
        handler_requests_measured: handler.n,
      },
      preflight: {
        ...perRequest(meter.of('preflight'), preflight.n),
        ms: mean(preflight, 'ms'),
        cpu_ms: (cpu.get('preflight') ?? 0) / preflight.n,
        log_bytes: (logBytes.get('preflight') ?? 0) / preflight.n,
        response_bytes: mean(preflight, 'response_bytes'),
      },
      rollup: o.sizes.map((size) => {
        const b = batches.get(size) ?? { batches: 0, records: 0, ms: 0, cpu_ms: 0 }
        const u = meter.of(`rollup:${size}`)
        const n = Math.max(1, b.batches)
        return {
          size,
          batches: b.batches,
          records: b.records,
          requests: Object.values(u.requests).reduce((a, c) => a + c, 0) / n,
          per_batch: {
            wru: u.write_units / n,
            rru: u.read_units / n,
            ms: b.ms / n,
            cpu_ms: b.cpu_ms / n,
            log_bytes: (logBytes.get(`rollup:${size}`) ?? 0) / n,
          },
          per_record: {
            wru: u.write_units / Math.max(1, b.records),
            rru: u.read_units / Math.max(1, b.records),
          },
        }
      }),
      dashboard: {
        opens,
        calls_per_open: dashboard.n / opens,
        per_call: {
          ...perRequest(meter.of('dashboard'), dashboard.n),
          ms: mean(dashboard, 'ms'),
          cpu_ms: (cpu.get('dashboard') ?? 0) / dashboard.n,
          log_bytes: (logBytes.get('dashboard') ?? 0) / dashboard.n,
          response_bytes: mean(dashboard, 'response_bytes'),
        },
        // What each event in windows not yet summed adds to a call (the run's events, all
        // unsummed in the first opening, none in the second).
        per_unsummed_event: {
          rru: Math.max(
            0,
            (meter.of('dashboard-unsummed').read_units / unsummed.n -
              meter.of('dashboard').read_units / dashboard.n) /
              Math.max(1, collected),
          ),
          ms: Math.max(0, (mean(unsummed, 'ms') - mean(dashboard, 'ms')) / Math.max(1, collected)),
          cpu_ms: Math.max(
            0,
            ((cpu.get('dashboard-unsummed') ?? 0) / unsummed.n -
              (cpu.get('dashboard') ?? 0) / dashboard.n) /
              Math.max(1, collected),
          ),
        },
      },
      realtime: {
        polls,
        log_bytes: (logBytes.get('realtime') ?? 0) / realtime.n,
        response_bytes: mean(realtime, 'response_bytes'),
      },
      session_copy: {
        sessions: copied.sessions,
        per_session: {
          wru: meter.of('session-copy').write_units / Math.max(1, copied.sessions),
          drop_wru: dropUnits / Math.max(1, copied.sessions),
          rru: meter.of('session-copy').read_units / Math.max(1, copied.sessions),
          ms: copyMs / Math.max(1, copied.sessions),
          cpu_ms: (cpu.get('session-copy') ?? 0) / Math.max(1, copied.sessions),
        },
      },
      sweep: {
        run: {
          wru: run.write_units,
          rru: run.read_units,
          ms: sweepRunMs,
          cpu_ms: cpu.get('sweep-run') ?? 0,
          log_bytes: logBytes.get('sweep') ?? 0,
        },
        expired_events: swept.events,
        per_event: {
          wru: Math.max(0, expired.write_units - run.write_units) / deleted,
          rru: Math.max(0, expired.read_units - run.read_units) / deleted,
          ms: Math.max(0, sweepExpiredMs - sweepRunMs) / deleted,
          cpu_ms:
            Math.max(0, (cpu.get('sweep-expired') ?? 0) - (cpu.get('sweep-run') ?? 0)) / deleted,
        },
      },
      init,
    }
  } finally {
    await server.close()
    await local.stop()
  }
}

export type ReplayResult = Awaited<ReturnType<typeof runReplay>>

/**
 * An item's size as DynamoDB bills it: each attribute's name plus its value (a string's UTF-8
 * bytes, a binary's bytes, a number's about 21 bytes at most)
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
function itemSize(item: Record<string, unknown>): number {
  let bytes = 0
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name)
    if (value instanceof Uint8Array) bytes += value.byteLength
    else if (typeof value === 'number') bytes += 21
    else bytes += Buffer.byteLength(String(value))
  }
  return bytes
}
