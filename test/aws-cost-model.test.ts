import { describe, expect, it } from 'vitest'
import {
  arrivalWeights,
  coldStartsPerMonth,
  fitLine,
  interpolate,
  LEVELS,
  MONTH_SECONDS,
  recordsPerBatch,
  rollupBatches,
  scheduledColdStartsPerMonth,
  sizesToMeasure,
} from '../bench/aws-cost/levels.ts'
import {
  billedMs,
  frontDoorUsd,
  levelUsage,
  type Measured,
  priceLevel,
} from '../bench/aws-cost/model.ts'
import { PRICES } from '../bench/aws-cost/prices.ts'
import { scheduleInvocationsPerMonth } from '../bench/aws-cost/terraform.ts'

// The cost model's arithmetic (bench/aws-cost/): `npm run bench:aws-cost` feeds it measurements.

const shape = {
  functions: ['event-collector', 'rollup'],
  architecture: 'x86_64' as const,
  memory_mb: 512,
  memory_mb_by_function: {},
  log_level: 'info',
  system_log_level: 'WARN' as const,
  log_retention_days: 30,
  rollup_batch_size: 1000,
  rollup_batching_window_s: 5,
  rollup_parallelization_factor: 1,
  alarms: [],
  alarm_metrics: 0,
  dashboards: 0,
  waf: { web_acls: 0, rules: 0 },
  collector_door: 'direct' as const,
  schedules: [{ name: 'sweep', expression: 'rate(5 minutes)', invocations_per_month: 8640 }],
}

const call = { wru: 0, rru: 0, ms: 0, cpu_ms: 0, log_bytes: 0, response_bytes: 0 }
const measured: Measured = {
  visit: { events: 6, requests: 5, preflights: 1, request_bytes: 0 },
  collect: { ...call, wru: 3 },
  preflight: call,
  rollup: [
    { size: 1, per_batch: { wru: 40, rru: 0, ms: 0, cpu_ms: 0, log_bytes: 0 } },
    { size: 100, per_batch: { wru: 1000, rru: 0, ms: 0, cpu_ms: 0, log_bytes: 0 } },
  ],
  dashboard: {
    calls_per_open: 3,
    per_call: call,
    per_unsummed_event: { rru: 0, ms: 0, cpu_ms: 0 },
  },
  realtime: {
    rru: { fixed: 0, per: 0 },
    ms: { fixed: 0, per: 0 },
    cpu_ms: { fixed: 0, per: 0 },
    log_bytes: 0,
    response_bytes: 0,
  },
  sweep: {
    run: { wru: 0, rru: 0, ms: 0, cpu_ms: 0, log_bytes: 0 },
    per_event: { wru: 0, rru: 0, ms: 0, cpu_ms: 0 },
  },
  session_copy: { wru: 4, rru: 0, ms: 0, cpu_ms: 0 },
  init: { ms: 0, first_call_extra_ms: 0 },
  platform_log_bytes: { invocation: 0, cold_start_extra: 0 },
}
const assumptions = {
  shards: 1,
  arrival_weights: arrivalWeights(0, 14),
  cold_starts: { idle_reclaim_s: 420, container_lifetime_s: 7200 },
  poll_interval_s: 3,
  live_window_s: 1800,
  live_read_limit: 50_000,
  live_overlap_s: 60,
  live_full_read_every_s: 300,
  session_record_wru: 1,
  unsummed_window_s: 300,
  vcpu_memory_mb: 1769,
}

describe('levels', () => {
  it('spreads a day over 24 hourly weights averaging 1, peaking at the peak hour', () => {
    const w = arrivalWeights(0.6, 14)
    expect(w.reduce((a, b) => a + b, 0) / 24).toBeCloseTo(1, 10)
    expect(w[14]).toBeCloseTo(1.6)
    expect(w[2]).toBeCloseTo(0.4)
  })

  it('batches what arrives within the window on a shard, up to BatchSize', () => {
    expect(recordsPerBatch(0, 5, 1000)).toBe(1)
    expect(recordsPerBatch(2, 5, 1000)).toBe(11)
    expect(recordsPerBatch(500, 5, 1000)).toBe(1000)
    const month = rollupBatches(MONTH_SECONDS * 2, arrivalWeights(0, 0), 1, 5, 1000)
    expect(month.reduce((s, h) => s + h.records, 0)).toBeCloseTo(MONTH_SECONDS * 2)
    expect(month[0]?.records_per_batch).toBeCloseTo(11)
  })

  it('starts a cold container for nearly every rare request, and few for busy ones', () => {
    const a = { idle_reclaim_s: 420, container_lifetime_s: 7200 }
    const rare = 1 / 86_400
    const monthly = rare * MONTH_SECONDS
    const warmShare = 1 - Math.exp(-rare * 420)
    expect(coldStartsPerMonth(Array(24).fill(rare), 0.1, a)).toBeCloseTo(
      monthly * Math.exp(-rare * 420) + warmShare * 24 * 30 * 0.5,
      6,
    )
    // Ten a second: only the lifetime replacements, one container, 12 a day.
    expect(coldStartsPerMonth(Array(24).fill(10), 0.05, a)).toBeCloseTo(12 * 30, 0)
    expect(scheduledColdStartsPerMonth(300, a)).toBe(360)
    expect(scheduledColdStartsPerMonth(3600, a)).toBe(720)
  })

  it('interpolates between measured sizes and extends the last slope', () => {
    const points = [
      { x: 1, y: 40 },
      { x: 10, y: 130 },
      { x: 100, y: 1030 },
    ]
    expect(interpolate(points, 1)).toBe(40)
    expect(interpolate(points, 0.5)).toBe(40)
    expect(interpolate(points, 5.5)).toBeCloseTo(85)
    expect(interpolate(points, 200)).toBeCloseTo(2030)
  })

  it('fits a line and picks the sizes to measure around the implied ones', () => {
    expect(
      fitLine([
        { x: 0, y: 5 },
        { x: 10, y: 25 },
      ]),
    ).toEqual({ fixed: 5, per: 2 })
    expect(sizesToMeasure([1.2, 1.8, 78], [1, 2, 5, 10, 25, 50, 100, 250])).toEqual([
      1, 2, 5, 10, 25, 50, 100,
    ])
    expect(scheduleInvocationsPerMonth('rate(5 minutes)')).toBe(8640)
    expect(() => scheduleInvocationsPerMonth('cron(0 * * * ? *)')).toThrow()
  })
})

describe('model', () => {
  const level = {
    name: 't',
    events_per_month: 6_000_000,
    dashboard: { opens_per_month: 0, live_minutes_per_open: 0 },
  }

  it('counts the visits, requests and preflights the tracker visit implies', () => {
    const u = levelUsage(level, measured, assumptions, shape)
    expect(u.visits).toBe(1_000_000)
    expect(u.posts).toBe(5_000_000)
    expect(u.preflights).toBe(1_000_000)
    expect(u.fronted.requests).toBe(6_000_000)
  })

  it('prices the collector per POST and the roll-up per batch at the size the window implies', () => {
    const p = priceLevel(level, 'function_url', measured, assumptions, shape, PRICES)
    // A stream record is a request: 5 million of them (6 events in 5 requests a visit).
    const perShard = 5_000_000 / MONTH_SECONDS
    const size = 1 + perShard * 5
    const perBatch = interpolate(
      measured.rollup.map((r) => ({ x: r.size, y: r.per_batch.wru })),
      size,
    )
    // The sweep copies each visit's session once, when it has ended: 4 units a copy.
    const copies = 1_000_000 * 4
    const wru = 5_000_000 * 3 + (5_000_000 / size) * perBatch + copies
    expect(p.units.write_request_units).toBeCloseTo(wru, 0)
    expect(p.usd_per_month.dynamodb).toBeCloseTo(
      (wru / 1e6) * PRICES.dynamodb_write_request_units.usd,
      6,
    )
    expect(p.usd_per_million_events.total).toBeCloseTo((p.usd_per_month.total / 6_000_000) * 1e6, 9)
    expect(p.usd_per_million_events.total_without_front_door).toBeCloseTo(
      p.usd_per_million_events.dynamodb +
        p.usd_per_million_events.lambda +
        p.usd_per_million_events.logs,
      9,
    )
    // One more write per session: a million sessions.
    expect(p.session_record.write_request_units_per_month).toBe(1_000_000)
  })

  it("prices the packer's later delete of each copy's share of its batch with the copy", () => {
    const base = priceLevel(level, 'function_url', measured, assumptions, shape, PRICES)
    const dropping = { ...measured, session_copy: { ...measured.session_copy, drop_wru: 0.5 } }
    const p = priceLevel(level, 'function_url', dropping, assumptions, shape, PRICES)
    // Half a unit more for each of the million visits' copies.
    expect(p.units.write_request_units - base.units.write_request_units).toBeCloseTo(500_000, 0)
  })

  it("adds the record packer's units to the month and prices a filtered page by the site's size", () => {
    const record_pack = {
      events: 1_000_000,
      packer_wru_per_event: 0.1,
      packer_rru_per_event: 0.02,
      packer_ms_per_event: 0.01,
      page_rru_per_million_before: 20_000,
      page_rru_per_million_after: 2_000,
      bytes_per_million_events: { packs: 30_000_000 },
    }
    const without = priceLevel(level, 'function_url', measured, assumptions, shape, PRICES)
    const p = priceLevel(
      level,
      'function_url',
      measured,
      { ...assumptions, record_pack },
      shape,
      PRICES,
    )
    expect(without.record_packs).toBeNull()
    expect(p.units.write_request_units - without.units.write_request_units).toBeCloseTo(600_000, 0)
    expect(p.units.read_request_units - without.units.read_request_units).toBeCloseTo(120_000, 0)
    expect(p.usd_per_month.total).toBeGreaterThan(without.usd_per_month.total)
    // 6 million events a month: a page reads six times the 1M site's units.
    expect(p.record_packs?.filtered_30d_page.read_units_after).toBeCloseTo(12_000)
    expect(p.record_packs?.filtered_30d_page.usd_before).toBeCloseTo(
      (120_000 / 1e6) * PRICES.dynamodb_read_request_units.usd,
      9,
    )
  })

  it("prices a stats call with the counters summed plus the sweep interval's unsummed windows", () => {
    const watched = { ...level, dashboard: { opens_per_month: 100, live_minutes_per_open: 0 } }
    const reading = {
      ...measured,
      dashboard: {
        calls_per_open: 3,
        per_call: { ...call, rru: 10 },
        per_unsummed_event: { rru: 0.5, ms: 0, cpu_ms: 0 },
      },
    }
    const u = levelUsage(watched, reading, assumptions, shape)
    // 6 M events a month: 300 s of them are in windows the sweep has not summed yet.
    const unsummed = (6_000_000 / MONTH_SECONDS) * 300
    expect(u.functions.stats.rru).toBeCloseTo(300 * (10 + 0.5 * unsummed), 6)
    const summedOften = levelUsage(
      watched,
      reading,
      { ...assumptions, unsummed_window_s: 60 },
      shape,
    )
    expect(summedOften.functions.stats.rru).toBeLessThan(u.functions.stats.rru)
  })

  it("stretches a call's CPU time by the share of a vCPU its memory buys, not its waiting", () => {
    const sizing = (memory_mb: number) => ({ memory_mb, vcpu_memory_mb: 1769 })
    expect(billedMs(30, 10, sizing(512))).toBeCloseTo(20 + 10 * (1769 / 512), 9)
    expect(billedMs(30, 10, sizing(1769))).toBe(30)
    expect(billedMs(30, 10, sizing(3008))).toBe(30)
    // CPU beyond the wall time (other threads) counts as the wall time at most.
    expect(billedMs(30, 45, sizing(1769))).toBe(30)
    // Waiting bills GB-seconds in proportion to memory; CPU-bound work the same at any size.
    const at = (memory: number, cpu: number) =>
      levelUsage(
        level,
        { ...measured, collect: { ...measured.collect, ms: 40, cpu_ms: cpu } },
        assumptions,
        { ...shape, memory_mb_by_function: { 'event-collector': memory } },
      ).functions.collector.gb_seconds
    expect(at(256, 0) / at(512, 0)).toBeCloseTo(0.5, 2)
    expect(at(256, 40) / at(512, 40)).toBeCloseTo(1, 2)
  })

  it('reads the whole live window once in five minutes, and only what is new in between', () => {
    const watched = { ...level, dashboard: { opens_per_month: 100, live_minutes_per_open: 10 } }
    // A unit a poll, and one per event read: what a poll reads is the read units less one.
    const reading = { ...measured, realtime: { ...measured.realtime, rru: { fixed: 1, per: 1 } } }
    const u = levelUsage(watched, reading, assumptions, shape)
    const polls = 100 * ((10 * 60) / 3)
    const perSecond = 6_000_000 / MONTH_SECONDS
    const window = perSecond * 1800
    // One poll in a hundred (3 s of 300 s) reads the window; the rest the last 63 seconds.
    const read = 0.01 * window + 0.99 * perSecond * 63
    expect(u.dashboard.polls).toBe(polls)
    expect(u.functions.realtime.rru).toBeCloseTo(polls * (1 + read), 3)
  })

  it('charges the API Gateway fee on REST and HTTP API only; CloudFront and the WAF on every door', () => {
    const fronted = { requests: 1_000_000, request_bytes: 0, response_bytes: 0 }
    const edge = 100 * PRICES.cloudfront_https_requests.usd + PRICES.waf_requests.usd
    expect(frontDoorUsd('function_url', fronted, PRICES)).toBeCloseTo(edge)
    expect(frontDoorUsd('http_api', fronted, PRICES)).toBeCloseTo(
      edge + PRICES.api_gateway_http.usd,
    )
    expect(frontDoorUsd('rest_api', fronted, PRICES)).toBeCloseTo(
      edge + PRICES.api_gateway_rest.usd,
    )
    // Reached without CloudFront: the HTTP API's fee and its answers' bytes out, no edge fees.
    const answered = { ...fronted, response_bytes: 2 ** 30 }
    expect(frontDoorUsd('http_api_direct', answered, PRICES)).toBeCloseTo(
      PRICES.api_gateway_http.usd + PRICES.region_data_out.usd,
    )
  })

  it('states the three levels the issue asks for', () => {
    expect(LEVELS.map((l) => l.events_per_month)).toEqual([10_000, 1_000_000, 100_000_000])
  })
})
