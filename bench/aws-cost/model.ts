/**
 * The cost model: what the run measured, priced per traffic level and collector front door.
 * Pure: every input is a measurement of the run, a price (prices.ts), the deployed shape
 * (terraform.ts) or a stated assumption (ASSUMPTIONS in the bench's entry).
 */
import {
  type ColdStartAssumptions,
  coldStartsPerMonth,
  interpolate,
  type Level,
  MONTH_SECONDS,
  rollupBatches,
  scheduledColdStartsPerMonth,
} from './levels.ts'
import type { PRICES } from './prices.ts'
import type { DeployedShape } from './terraform.ts'

/**
 * The collector's front door. The first three sit behind CloudFront and its WAF, as the
 * dashboard does; `http_api_direct` is an HTTP API the tracker reaches without them (no
 * per-request CloudFront or WAF fee; the client address is the connection's; floods are held
 * by the stage's throttle and the function's reserved concurrency, not a rate rule per
 * address). Deployed by default (infra/terraform/collector_api.tf, `collector_door`).
 */
export type FrontDoor = 'rest_api' | 'http_api' | 'function_url' | 'http_api_direct'
export const FRONT_DOORS: FrontDoor[] = ['rest_api', 'http_api', 'function_url', 'http_api_direct']

/** What one invocation of a kind costs besides its Lambda request: measured. */
export interface PerCall {
  wru: number
  rru: number
  /** Mean duration, ms (against DynamoDB Local on this machine). */
  ms: number
  /** CPU time in it, ms, on one of this machine's cores (scaled by billedMs). */
  cpu_ms: number
  /** Bytes its handlers log at the deployed level. */
  log_bytes: number
  /** Bytes of the answer (headers and body) sent back through CloudFront. */
  response_bytes: number
}

export interface Measured {
  visit: {
    events: number
    /** Collector POSTs (fetch and beacon) and CORS preflights, per visit. */
    requests: number
    preflights: number
    /** Bytes of a collector request as it reaches the origin (headers and body), mean. */
    request_bytes: number
  }
  collect: PerCall
  preflight: PerCall
  /** Per roll-up batch, at each measured batch size. */
  rollup: { size: number; per_batch: Omit<PerCall, 'response_bytes'> }[]
  /**
   * A stats call with the counters summed (per_call), and what each event of windows the
   * sweep has not summed yet adds to it (counter-summaries.ts: a read takes those windows'
   * rows on top of the summaries).
   */
  dashboard: {
    calls_per_open: number
    per_call: PerCall
    per_unsummed_event: { rru: number; ms: number; cpu_ms: number }
  }
  /** A realtime poll as a line in the events of the live window: fixed + per event. */
  realtime: {
    rru: { fixed: number; per: number }
    ms: { fixed: number; per: number }
    cpu_ms: { fixed: number; per: number }
    log_bytes: number
    response_bytes: number
  }
  /** The scheduled sweep: one run with nothing to delete, and what each expired event adds. */
  sweep: {
    run: Omit<PerCall, 'response_bytes'>
    per_event: { wru: number; rru: number; ms: number; cpu_ms: number }
  }
  /**
   * The sweep's copy of a session into the Sessions table (session-projection.ts): the item
   * with its index copies, written once per sweep in which the session changed.
   */
  /**
   * Per session copied: its share of the copy's batch and its own item where it keeps one
   * (`wru`), and what deleting its share of the batch bills the packer later (`drop_wru`).
   */
  session_copy: { wru: number; drop_wru?: number; rru: number; ms: number; cpu_ms: number }
  init: { ms: number; first_call_extra_ms: number }
  platform_log_bytes: { invocation: number; cold_start_extra: number }
}

export interface Assumptions {
  shards: number
  arrival_weights: number[]
  cold_starts: ColdStartAssumptions
  poll_interval_s: number
  live_window_s: number
  live_read_limit: number
  /** How far before its last read a container's next realtime read reaches. */
  live_overlap_s: number
  /** How often a container reads a site's whole live window again. */
  live_full_read_every_s: number
  session_record_wru: number
  /**
   * How long a window waits to be summed at most: the sweep's schedule. A stats call is
   * priced with that much of the site's traffic unsummed (an upper bound: half on average).
   */
  unsummed_window_s: number
  /** Memory at which a function has one full vCPU (Lambda gives CPU in proportion to memory). */
  vcpu_memory_mb: number
  /** The record's packed days (bench/record-pack.ts), when measured: absent, not priced. */
  record_pack?: RecordPackInputs
}

/**
 * What bench/record-pack.ts measured, per event of the month: the packer's writes (its
 * transactions, 2 units per KB), its reads (each day's session items once) and time, and a
 * filtered 30-day page's read units before and after packing, per million events a month
 * (a page reads the month: its units grow with the site).
 */
export interface RecordPackInputs {
  events: number
  packer_wru_per_event: number
  packer_rru_per_event: number
  packer_ms_per_event: number
  page_rru_per_million_before: number
  page_rru_per_million_after: number
  bytes_per_million_events: Record<string, number>
}

type Prices = typeof PRICES

interface Usage {
  invocations: number
  gb_seconds: number
  wru: number
  rru: number
  log_bytes: number
  cold_starts: number
}

const GB = 1024 ** 3

/** A function's memory and the memory that buys one whole vCPU. */
export interface Sizing {
  memory_mb: number
  vcpu_memory_mb: number
}

/**
 * What a call measured here lasts on Lambda: its waiting (the time that was not CPU) as
 * measured, its CPU time stretched by the share of a vCPU the function's memory buys
 * ("at 1,769 MB, a function has the equivalent of one vCPU",
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), taking Lambda's
 * vCPU as fast as one of this machine's cores. Waiting on DynamoDB Local is slower than on
 * DynamoDB, so the first part is an upper bound; the second is not, for a CPU-bound call.
 */
export function billedMs(ms: number, cpuMs: number, sizing: Sizing): number {
  const cpu = Math.max(0, Math.min(cpuMs, ms))
  return ms - cpu + cpu * Math.max(1, sizing.vcpu_memory_mb / sizing.memory_mb)
}

function gbSeconds(ms: number, sizing: Sizing): number {
  // Lambda bills duration rounded up to the millisecond.
  return (Math.ceil(ms) / 1000) * (sizing.memory_mb / 1024)
}

/**
 * Per-call usage of `calls` invocations with `cold` of them cold. A cold start's init is
 * taken as all CPU (loading and compiling the package): an upper bound.
 */
function usageOf(
  calls: number,
  per: Omit<PerCall, 'response_bytes'>,
  cold: number,
  m: Measured,
  sizing: Sizing,
): Usage {
  const init = m.init.ms + m.init.first_call_extra_ms
  return {
    invocations: calls,
    gb_seconds:
      calls * gbSeconds(billedMs(per.ms, per.cpu_ms, sizing), sizing) +
      cold * gbSeconds(billedMs(init, init, sizing), sizing),
    wru: calls * per.wru,
    rru: calls * per.rru,
    log_bytes:
      calls * (per.log_bytes + m.platform_log_bytes.invocation) +
      cold * m.platform_log_bytes.cold_start_extra,
    cold_starts: cold,
  }
}

function add(a: Usage, b: Usage): Usage {
  return {
    invocations: a.invocations + b.invocations,
    gb_seconds: a.gb_seconds + b.gb_seconds,
    wru: a.wru + b.wru,
    rru: a.rru + b.rru,
    log_bytes: a.log_bytes + b.log_bytes,
    cold_starts: a.cold_starts + b.cold_starts,
  }
}

const ZERO: Usage = { invocations: 0, gb_seconds: 0, wru: 0, rru: 0, log_bytes: 0, cold_starts: 0 }

function partsUsd(u: Usage, prices: Prices, shape: DeployedShape) {
  const gbSecond =
    shape.architecture === 'arm64'
      ? prices.lambda_gb_second_arm64.usd
      : prices.lambda_gb_second_x86_64.usd
  const ingestedGb = u.log_bytes / GB
  return {
    dynamodb:
      (u.wru / 1e6) * prices.dynamodb_write_request_units.usd +
      (u.rru / 1e6) * prices.dynamodb_read_request_units.usd,
    lambda: (u.invocations / 1e6) * prices.lambda_requests.usd + u.gb_seconds * gbSecond,
    logs:
      ingestedGb * prices.logs_ingestion.usd +
      ingestedGb * (shape.log_retention_days / 30) * prices.logs_storage.usd,
  }
}

/** The month of one level: usage by function, what a front door adds, and the dashboard's API. */
export function levelUsage(level: Level, m: Measured, a: Assumptions, shape: DeployedShape) {
  const sized = (fn: string): Sizing => ({
    memory_mb: shape.memory_mb_by_function[fn] ?? shape.memory_mb,
    vcpu_memory_mb: a.vcpu_memory_mb,
  })
  const E = level.events_per_month
  const w = a.arrival_weights
  const visits = E / m.visit.events
  const posts = visits * m.visit.requests
  const preflights = visits * m.visit.preflights
  const perSecond = (monthly: number) => w.map((x) => (monthly / MONTH_SECONDS) * x)

  // Collector: every POST and every preflight is an invocation of event-collector.
  const collectorRate = perSecond(posts + preflights)
  const collectorCold = coldStartsPerMonth(collectorRate, m.collect.ms / 1000, a.cold_starts)
  const coldShare = collectorCold / Math.max(1, posts + preflights)
  const collector = add(
    usageOf(posts, m.collect, posts * coldShare, m, sized('event-collector')),
    usageOf(preflights, m.preflight, preflights * coldShare, m, sized('event-collector')),
  )

  // Roll-up: the batches the arrival curve implies, each priced at its measured size. A
  // stream record is a request's item (src/storage/dynamodb/request-items.ts).
  const hours = rollupBatches(
    posts,
    w,
    a.shards,
    shape.rollup_batching_window_s,
    shape.rollup_batch_size,
  )
  const at = (size: number, key: 'wru' | 'rru' | 'ms' | 'cpu_ms' | 'log_bytes') =>
    interpolate(
      m.rollup.map((r) => ({ x: r.size, y: r.per_batch[key] })),
      size,
    )
  let rollup = ZERO
  const batchRate = hours.map((h) => h.batches / (MONTH_SECONDS / 24))
  const rollupCold = coldStartsPerMonth(
    batchRate,
    at(hours[0]?.records_per_batch ?? 1, 'ms') / 1000,
    a.cold_starts,
  )
  const totalBatches = hours.reduce((s, h) => s + h.batches, 0)
  for (const h of hours) {
    const per = {
      wru: at(h.records_per_batch, 'wru'),
      rru: at(h.records_per_batch, 'rru'),
      ms: at(h.records_per_batch, 'ms'),
      cpu_ms: at(h.records_per_batch, 'cpu_ms'),
      log_bytes: at(h.records_per_batch, 'log_bytes'),
    }
    rollup = add(
      rollup,
      usageOf(h.batches, per, (rollupCold * h.batches) / totalBatches, m, sized('rollup')),
    )
  }

  // Dashboard: each open's calls on stats-api, its live view's polls on realtime-api.
  const opens = level.dashboard.opens_per_month
  const openRate = perSecond(opens)
  const dashboardCalls = opens * m.dashboard.calls_per_open
  const unsummed = (E / MONTH_SECONDS) * a.unsummed_window_s
  const statsCall = {
    ...m.dashboard.per_call,
    rru: m.dashboard.per_call.rru + unsummed * m.dashboard.per_unsummed_event.rru,
    ms: m.dashboard.per_call.ms + unsummed * m.dashboard.per_unsummed_event.ms,
    cpu_ms: m.dashboard.per_call.cpu_ms + unsummed * m.dashboard.per_unsummed_event.cpu_ms,
  }
  const stats = usageOf(
    dashboardCalls,
    statsCall,
    coldStartsPerMonth(openRate, m.dashboard.per_call.ms / 1000, a.cold_starts),
    m,
    sized('stats-api'),
  )
  const polls = opens * ((level.dashboard.live_minutes_per_open * 60) / a.poll_interval_s)
  const windowEvents = Math.min(a.live_read_limit, (E / MONTH_SECONDS) * a.live_window_s)
  // One poll in live_full_read_every_s / poll_interval_s reads the whole window; the others
  // the events since the last read, less the overlap (stored-live-events.ts).
  const full = Math.min(1, a.poll_interval_s / a.live_full_read_every_s)
  const sinceLast = Math.min(
    windowEvents,
    (E / MONTH_SECONDS) * (a.poll_interval_s + a.live_overlap_s),
  )
  const perPoll = (line: { fixed: number; per: number }) =>
    full * a_line(line, windowEvents) + (1 - full) * a_line(line, sinceLast)
  const poll = {
    wru: 0,
    rru: perPoll(m.realtime.rru),
    ms: perPoll(m.realtime.ms),
    cpu_ms: perPoll(m.realtime.cpu_ms),
    log_bytes: m.realtime.log_bytes,
  }
  const realtime = usageOf(
    polls,
    poll,
    coldStartsPerMonth(openRate, poll.ms / 1000, a.cold_starts),
    m,
    sized('realtime-api'),
  )

  // Sweep: the deletes of every event once past its TTL (the schedule's own runs are fixed).
  const sweepDeletes: Usage = {
    invocations: 0,
    // Spread over the schedule's runs: no rounding per event.
    gb_seconds: E * gbSecondsUnrounded(m.sweep.per_event, sized('sweeper')),
    wru: E * m.sweep.per_event.wru,
    rru: E * m.sweep.per_event.rru,
    log_bytes: 0,
    cold_starts: 0,
  }

  // The sweep's copies of the sessions: each visit's once, after COPY_IDLE_MS without an event
  // (session-projection.ts); the scripted visit has no pause that long.
  const copies = visits
  const sessionCopies: Usage = {
    invocations: 0,
    gb_seconds: copies * gbSecondsUnrounded(m.session_copy, sized('sweeper')),
    wru: copies * (m.session_copy.wru + (m.session_copy.drop_wru ?? 0)),
    rru: copies * m.session_copy.rru,
    log_bytes: 0,
    cold_starts: 0,
  }

  // The record's packer, in the sweep function's runs: per event, as measured.
  const pack = a.record_pack
  const packer: Usage = pack
    ? {
        invocations: 0,
        // The packer's time taken as all CPU (compressing packs): an upper bound.
        gb_seconds:
          E *
          gbSecondsUnrounded(
            { ms: pack.packer_ms_per_event, cpu_ms: pack.packer_ms_per_event },
            sized('sweeper'),
          ),
        wru: E * pack.packer_wru_per_event,
        rru: E * pack.packer_rru_per_event,
        log_bytes: 0,
        cold_starts: 0,
      }
    : ZERO

  const fronted = {
    requests: posts + preflights,
    request_bytes: posts * m.visit.request_bytes,
    response_bytes: posts * m.collect.response_bytes + preflights * m.preflight.response_bytes,
  }
  const dashboardApi = {
    requests: dashboardCalls + polls,
    response_bytes:
      dashboardCalls * m.dashboard.per_call.response_bytes + polls * m.realtime.response_bytes,
  }
  return {
    visits,
    posts,
    preflights,
    hours,
    window_events: windowEvents,
    dashboard: { opens, calls: dashboardCalls, polls },
    functions: {
      collector,
      rollup,
      stats,
      realtime,
      sweep_deletes: sweepDeletes,
      session_copies: sessionCopies,
      ...(pack ? { record_packer: packer } : {}),
    },
    fronted,
    dashboard_api: dashboardApi,
  }
}

/** GB-seconds of work spread over a scheduled run's duration: not rounded per item. */
function gbSecondsUnrounded(d: { ms: number; cpu_ms: number }, sizing: Sizing): number {
  return (billedMs(d.ms, d.cpu_ms, sizing) / 1000) * (sizing.memory_mb / 1024)
}

function a_line(line: { fixed: number; per: number }, x: number): number {
  return Math.max(0, line.fixed + line.per * x)
}

/**
 * The front door's fees for the collector's requests: CloudFront and the WAF for every door
 * behind them, the API Gateway fee for REST and HTTP APIs; without CloudFront, the answers'
 * bytes leave the region at its data transfer rate instead.
 */
export function frontDoorUsd(
  door: FrontDoor,
  fronted: { requests: number; request_bytes: number; response_bytes: number },
  prices: Prices,
): number {
  const gateway =
    door === 'rest_api'
      ? prices.api_gateway_rest.usd
      : door === 'http_api' || door === 'http_api_direct'
        ? prices.api_gateway_http.usd
        : prices.lambda_function_url.usd
  if (door === 'http_api_direct') {
    return (
      (fronted.requests / 1e6) * gateway +
      (fronted.response_bytes / GB) * prices.region_data_out.usd
    )
  }
  return (
    (fronted.requests / 1e6) * gateway +
    (fronted.requests / 1e4) * prices.cloudfront_https_requests.usd +
    (fronted.requests / 1e6) * prices.waf_requests.usd +
    (fronted.response_bytes / GB) * prices.cloudfront_data_out.usd +
    (fronted.request_bytes / GB) * prices.cloudfront_to_origin.usd
  )
}

export function priceLevel(
  level: Level,
  door: FrontDoor,
  m: Measured,
  a: Assumptions,
  shape: DeployedShape,
  prices: Prices,
) {
  const u = levelUsage(level, m, a, shape)
  const all = Object.values(u.functions).reduce(add, ZERO)
  const parts = partsUsd(all, prices, shape)
  const frontDoor = frontDoorUsd(door, u.fronted, prices)
  // The dashboard and its API stay on REST behind CloudFront whatever the collector's door.
  const dashboardApi = frontDoorUsd('rest_api', { ...u.dashboard_api, request_bytes: 0 }, prices)
  const withoutFrontDoor = parts.dynamodb + parts.lambda + parts.logs
  const monthly = {
    dynamodb: parts.dynamodb,
    lambda: parts.lambda,
    logs: parts.logs,
    front_door: frontDoor,
    dashboard_api: dashboardApi,
    total_without_front_door: withoutFrontDoor,
    total: withoutFrontDoor + frontDoor + dashboardApi,
  }
  const perMillion = Object.fromEntries(
    Object.entries(monthly).map(([k, v]) => [k, (v / level.events_per_month) * 1e6]),
  ) as typeof monthly
  const byFunction = Object.fromEntries(
    Object.entries(u.functions).map(([name, usage]) => {
      const p = partsUsd(usage, prices, shape)
      return [name, { ...usage, usd: p.dynamodb + p.lambda + p.logs, ...p }]
    }),
  )
  const pack = a.record_pack
  const pageRru = (perMillion: number) => (perMillion * level.events_per_month) / 1e6
  const record = pack
    ? {
        packer_write_units_per_month: u.functions.record_packer?.wru ?? 0,
        packer_read_units_per_month: u.functions.record_packer?.rru ?? 0,
        packer_usd_per_million_events:
          (((u.functions.record_packer?.wru ?? 0) / 1e6) * prices.dynamodb_write_request_units.usd +
            ((u.functions.record_packer?.rru ?? 0) / 1e6) *
              prices.dynamodb_read_request_units.usd) /
          (level.events_per_month / 1e6),
        filtered_30d_page: {
          read_units_before: pageRru(pack.page_rru_per_million_before),
          read_units_after: pageRru(pack.page_rru_per_million_after),
          usd_before:
            (pageRru(pack.page_rru_per_million_before) / 1e6) *
            prices.dynamodb_read_request_units.usd,
          usd_after:
            (pageRru(pack.page_rru_per_million_after) / 1e6) *
            prices.dynamodb_read_request_units.usd,
        },
        bytes_per_million_events: pack.bytes_per_million_events,
      }
    : null
  const sessionRecordUsd =
    ((u.visits * a.session_record_wru) / 1e6) * prices.dynamodb_write_request_units.usd
  return {
    events_per_month: level.events_per_month,
    front_door: door,
    events_per_request: m.visit.events / m.visit.requests,
    usd_per_million_events: perMillion,
    usd_per_month: monthly,
    cents_per_month_dynamodb_lambda_logs: withoutFrontDoor * 100,
    units: {
      visits: u.visits,
      collector_posts: u.posts,
      cors_preflights: u.preflights,
      dashboard: u.dashboard,
      live_window_events: u.window_events,
      roll_up: {
        batches: u.hours.reduce((s, h) => s + h.batches, 0),
        records_per_batch_min: Math.min(...u.hours.map((h) => h.records_per_batch)),
        records_per_batch_max: Math.max(...u.hours.map((h) => h.records_per_batch)),
        records_per_batch_mean: level.events_per_month / u.hours.reduce((s, h) => s + h.batches, 0),
      },
      lambda_invocations: all.invocations,
      lambda_gb_seconds: all.gb_seconds,
      cold_starts: all.cold_starts,
      write_request_units: all.wru,
      read_request_units: all.rru,
      log_bytes: all.log_bytes,
      front_door_requests: u.fronted.requests,
      dashboard_api_requests: u.dashboard_api.requests,
    },
    by_function_usd_per_month: byFunction,
    session_record: {
      sessions_per_month: u.visits,
      write_request_units_per_month: u.visits * a.session_record_wru,
      usd_per_million_events: (sessionRecordUsd / level.events_per_month) * 1e6,
    },
    record_packs: record,
  }
}

/** Costs that do not scale with events: per month, listed apart, never spread over events. */
export function fixedMonthly(m: Measured, a: Assumptions, shape: DeployedShape, prices: Prices) {
  const sizing: Sizing = {
    memory_mb: shape.memory_mb_by_function.sweeper ?? shape.memory_mb,
    vcpu_memory_mb: a.vcpu_memory_mb,
  }
  const schedules = shape.schedules.map((s) => {
    const interval = MONTH_SECONDS / s.invocations_per_month
    const cold = scheduledColdStartsPerMonth(interval, a.cold_starts)
    const usage = usageOf(s.invocations_per_month, m.sweep.run, cold, m, sizing)
    const p = partsUsd(usage, prices, shape)
    return {
      name: s.name,
      expression: s.expression,
      invocations: s.invocations_per_month,
      cold_starts: cold,
      usd:
        p.dynamodb +
        p.lambda +
        p.logs +
        s.invocations_per_month * prices.eventbridge_scheduled_rule.usd,
      ...p,
    }
  })
  const items = {
    alarms: {
      alarms: shape.alarms.reduce((s, x) => s + x.count, 0),
      metrics: shape.alarm_metrics,
      usd: shape.alarm_metrics * prices.cloudwatch_alarm_metric.usd,
    },
    dashboard: {
      dashboards: shape.dashboards,
      usd: shape.dashboards * prices.cloudwatch_dashboard.usd,
    },
    waf: {
      web_acls: shape.waf.web_acls,
      rules: shape.waf.rules,
      usd: shape.waf.web_acls * prices.waf_web_acl.usd + shape.waf.rules * prices.waf_rule.usd,
    },
    scheduled_functions: { schedules, usd: schedules.reduce((s, x) => s + x.usd, 0) },
  }
  return {
    ...items,
    total_usd: Object.values(items).reduce((s, x) => s + x.usd, 0),
  }
}
