/**
 * The record's filtered 30-day page on the DynamoDB store, before and after packing
 * (`tsx bench/record-pack.ts`; src/storage/dynamodb/README.md, Packed days).
 *
 * Writes a month of one site's sessions with their record events straight into the Sessions
 * table of an in-memory DynamoDB Local (BENCH_EVENTS events, default 1,000,000, in sessions
 * of 1–100 events, about 6 on average: the roll-up's own items, sessionItem and
 * packRecordEvents, not a load through the roll-up, which DynamoDB Local would take hours
 * over), then with the request counter (CapacityMeter):
 *
 *   1. before: the filtered 30-day report (`page:/pricing`, what /api/stats computes from the
 *      record) read through SiteStartIndex only; time and read units per page;
 *   2. the packer: every day due (all but the last 5), its writes and the bytes it stored;
 *   3. after: the same page, from packs and the unpacked last days, as objects (recordReport,
 *      the direct read);
 *   4. columnar: the page as the AWS shape answers it (the store's columnarRecordReport: packed
 *      days decoded into columns and kept in memory), first from a fresh store (cold: reads
 *      and decodes every packed day), then again (warm: reads only the unpacked days).
 *
 * BENCH_BEFORE_RUNS=0 skips step 1 (16 minutes at 1M events on DynamoDB Local); the answers
 * of the steps run are checked equal.
 *
 * Results: bench/results/record-pack.json. Read units as DynamoDB Local reports them
 * (`ReturnConsumedCapacity`); the packer's transactions as their items bill (2 units per KB).
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { buildStatsQuery, StatsParamsSchema } from '../src/core/stats-query.ts'
import type { SessionState } from '../src/core/types.ts'
import {
  columnarPart,
  Dictionaries,
  PartBuilder,
  partBytes,
} from '../src/record/columnar-record.ts'
import { columnarReport } from '../src/record/columnar-report.ts'
import { readWindow } from '../src/record/period-window.ts'
import { recordReport } from '../src/record/record-report.ts'
import type { RecordEvent } from '../src/record/session-record.ts'
import { dynamoClients } from '../src/storage/dynamodb/clients.ts'
import { CopyBatches } from '../src/storage/dynamodb/copy-batches.ts'
import { startDynamoDbLocal } from '../src/storage/dynamodb/dynamodb-local.ts'
import { DynamoDbStore } from '../src/storage/dynamodb/dynamodb-store.ts'
import { type Item, sessionItem, sessionOf } from '../src/storage/dynamodb/items.ts'
import { STATE } from '../src/storage/dynamodb/keys.ts'
import {
  indexSessionItems,
  packRecordEvents,
  recordEventsOf,
} from '../src/storage/dynamodb/record.ts'
import { decodePack, RecordPacks, utcDay } from '../src/storage/dynamodb/record-packs.ts'
import { inParallel, Requests } from '../src/storage/dynamodb/requests.ts'
import { COPY_IDLE_MS } from '../src/storage/dynamodb/session-projection.ts'
import { createTables, tableNamesFromEnv } from '../src/storage/dynamodb/tables.ts'
import { NO_WINDOWS } from '../src/storage/dynamodb/uncopied-sessions.ts'
import { makeSession, makeSite } from '../src/testing/fixtures.ts'
import { PRICES } from './aws-cost/prices.ts'
import { CapacityMeter, itemBytes } from './support/capacity-meter.ts'
import { gitState } from './support/run-context.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'record-pack.json')
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
/** Warm runs of the columnar page. */
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 10)
/** The page before packing is slow on DynamoDB Local: fewer runs of it. */
const BEFORE_RUNS = Number(process.env.BENCH_BEFORE_RUNS ?? 1)
/**
 * How the month is stored: `index` (the default, as `bench/results/record-pack.json` was
 * measured) as session items in SiteStartIndex (sessions copied before copy batches,
 * imports); `batches` (BENCH_WRITE=batches) as the sweep copies sessions now (copy-batches.ts:
 * one item per copy, a copy every 5 minutes of the sessions ended 5 minutes before). With
 * batches the packer's catch-up of the whole month reads every later day's batches for each
 * day it packs: its read units are far over a steady state's (bench/NOTES.md).
 */
const WRITE = process.env.BENCH_WRITE === 'batches' ? 'batches' : 'index'
/** The sweep's interval: a copy every 5 minutes. */
const COPY_EVERY_MS = 5 * 60_000
const DAY = 86_400_000
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] ?? 0

// A seeded generator: the same month every run.
let seed = 42
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T
/** Zipf-ish: low indexes far more often. */
const skewed = <T>(xs: readonly T[]) => xs[Math.floor(xs.length * random() ** 3)] as T

const PAGES = [
  '/',
  '/pricing',
  '/docs',
  '/blog',
  ...Array.from({ length: 300 }, (_, i) => `/blog/post-${i}-about-counting-visitors`),
  ...Array.from({ length: 100 }, (_, i) => `/docs/section-${i}`),
]
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet']
const OSES = ['Windows', 'macOS', 'iOS', 'Android', 'Linux']
const DEVICES = ['desktop', 'mobile', 'tablet']
const COUNTRIES = ['KR', 'US', 'JP', 'DE', 'GB', 'FR', 'IN', 'BR', 'CA', 'AU']
const SOURCES: Array<[string, string, string]> = [
  ['Direct', 'direct', ''],
  ['Google', 'organic', 'www.google.com'],
  ['news.ycombinator.com', 'referral', 'news.ycombinator.com'],
  ['Twitter', 'social', 't.co'],
  ['Newsletter', 'email', ''],
]

const now = Date.now()
const from = now - 30 * DAY
const site = makeSite({ id: 'big', api_key: 'bench-big-key-0123456789', created_at: from - DAY })

/** One session of `n` events starting at `start`, as the roll-up writes its item. */
function session(start: number, n: number): Item {
  const events: RecordEvent[] = []
  let at = start
  for (let i = 0; i < n; i++) {
    const r = random()
    const type = i === 0 || r < 0.85 ? 'page_view' : r < 0.95 ? 'engagement' : 'signup'
    events.push({
      event_id: randomUUID(),
      timestamp: at,
      event_type: type,
      path: skewed(PAGES),
      props: type === 'signup' ? { plan: pick(['free', 'pro', 'team']) } : null,
    })
    at += Math.floor(5_000 + random() * 90_000)
  }
  const [source, channel, referrer] = pick(SOURCES)
  const state: SessionState = makeSession({
    id: `${start.toString(36)}-${randomUUID()}`,
    site_id: site.id,
    client_session_id: randomUUID(),
    visitor_id: randomUUID().replaceAll('-', '').slice(0, 24),
    start_time: start,
    end_time: events.at(-1)?.timestamp ?? start,
    pageviews: events.filter((e) => e.event_type === 'page_view').length,
    interactions: events.filter((e) => e.event_type === 'signup').length,
    entry_page: events[0]?.path ?? '/',
    exit_page: events.filter((e) => e.event_type === 'page_view').at(-1)?.path ?? '/',
    referrer,
    source,
    channel,
    browser: pick(BROWSERS),
    os: pick(OSES),
    device: pick(DEVICES),
    country: skewed(COUNTRIES),
    screen: pick(DEVICES),
  })
  return sessionItem(state, packRecordEvents(start, events))
}

const meter = new CapacityMeter(() => 0)
const local = await startDynamoDbLocal()
// DynamoDB Local takes seconds for a 1 MB page of SiteStartIndex on a busy machine.
const clients = dynamoClients({
  endpoint: local.endpoint,
  timeouts: { connectMs: 5_000, answerMs: 120_000 },
})
meter.attach(clients.ddb)
const tables = tableNamesFromEnv({})
await createTables(clients.ddb, tables)
const store = new DynamoDbStore({ ...clients, tables })
await store.createSite(site)

try {
  // The month: sessions of 1–100 events (mean about 6), starting evenly over 30 days.
  meter.phase = 'load'
  const loadStarted = performance.now()
  let events = 0
  let sessions = 0
  let sessionBytes = 0
  let longest = 0
  const batches: Item[][] = []
  let batch: Item[] = []
  while (events < EVENTS) {
    const n = Math.min(100, Math.max(1, Math.round(-Math.log(1 - random()) * 5.5)), EVENTS - events)
    const item = session(from + Math.floor(random() * (30 * DAY - 2 * 3_600_000)), n)
    events += n
    sessions++
    sessionBytes += itemBytes(item)
    longest = Math.max(longest, Number(item.end_time) - Number(item.start_time))
    batch.push(item)
    if (batch.length === 25) {
      batches.push(batch)
      batch = []
    }
  }
  if (batch.length) batches.push(batch)
  if (WRITE === 'index') {
    await inParallel(batches, 4, async (items) => {
      let left: Array<Record<string, unknown>> = items.map((Item) => ({ PutRequest: { Item } }))
      while (left.length) {
        const out = await clients.doc.send(
          new BatchWriteCommand({ RequestItems: { [tables.sessions]: left } }),
        )
        left = (out.UnprocessedItems?.[tables.sessions] ?? []) as typeof left
      }
    })
  } else {
    // As the sweep copies them: every 5 minutes, the sessions that ended 5 to 10 minutes
    // before, one batch item per copy (its time after every end it holds).
    const copies = new Map<number, Item[]>()
    for (const item of batches.flat()) {
      const copy = Math.floor((Number(item.end_time) + COPY_IDLE_MS) / COPY_EVERY_MS) + 1
      const list = copies.get(copy)
      if (list) list.push(item)
      else copies.set(copy, [item])
    }
    const writer = new CopyBatches({
      doc: clients.doc,
      requests: new Requests(clients.doc),
      tables,
      now: Date.now,
      eventTtlMs: DAY,
    })
    await inParallel([...copies], 4, ([copy, items]) =>
      writer.write(
        site.id,
        copy,
        items.map((item) => ({ ...item, fseq: copy })),
        [],
        copy * COPY_EVERY_MS,
      ),
    )
  }
  await clients.doc.send(
    new PutCommand({
      TableName: tables.state,
      Item: { pk: STATE.record(site.id), sk: STATE.one, since: from, longest },
    }),
  )
  const loadSeconds = (performance.now() - loadStarted) / 1000
  process.stdout.write(`loaded ${events} events in ${sessions} sessions, ${round(loadSeconds)} s\n`)

  const query = buildStatsQuery(
    StatsParamsSchema.parse({ site: site.id, period: '30d', filter: 'page:/pricing' }),
    site.timezone,
    now,
  )
  // What /api/stats computes for a filter (http/stats-reader.ts), its cache off: the direct
  // read's report, or the one AppDeps.recordReport hands it on AWS.
  const direct = () => recordReport(store, query)
  const page = async (phase: string, runs: number, report: () => Promise<unknown> = direct) => {
    const times: number[] = []
    meter.phase = phase
    let answer = ''
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      answer = JSON.stringify(await report())
      times.push(performance.now() - started)
    }
    const usage = meter.of(phase)
    return {
      p50_ms: round(median(times)),
      p95_ms: round(p95(times)),
      max_ms: round(Math.max(...times)),
      read_units_per_page: round(usage.read_units / runs),
      usd_per_page: round(
        (usage.read_units / runs / 1e6) * PRICES.dynamodb_read_request_units.usd,
        6,
      ),
      requests_per_page: Object.fromEntries(
        Object.entries(usage.requests).map(([k, v]) => [k, round(v / runs)]),
      ),
      answer,
    }
  }

  const { answer: answered, ...before } =
    BEFORE_RUNS > 0 ? await page('before', BEFORE_RUNS) : { answer: null }
  if (BEFORE_RUNS > 0) process.stdout.write(`before: ${JSON.stringify(before)}\n`)

  meter.phase = 'pack'
  const packStarted = performance.now()
  const packed = { days: 0, sessions: 0, bytes: 0, parts: 0 }
  for (;;) {
    const run = await store.packRecord(now)
    if (run.days === 0) break
    packed.days += run.days
    packed.sessions += run.sessions
    packed.bytes += run.bytes
    packed.parts += run.parts
  }
  const packSeconds = (performance.now() - packStarted) / 1000
  const pack = meter.of('pack')
  // As the meter counts them: a day packed for the first time is plain puts (a unit per KB
  // of each part), a transaction computed from its items (Local reports one wrong).
  const packWriteUnits = pack.write_units
  process.stdout.write(`packed: ${JSON.stringify(packed)} in ${round(packSeconds)} s\n`)

  const { answer: answeredAfter, ...after } = await page('after', RUNS)
  process.stdout.write(`after: ${JSON.stringify(after)}\n`)
  if (answered !== null && answeredAfter !== answered) {
    throw new Error('the packed read answers differently')
  }

  // A fresh store: nothing decoded yet, as in a new Lambda container.
  const fresh = new DynamoDbStore({ ...clients, tables })
  const columnar = () => fresh.columnarRecordReport(query)
  const { answer: answeredCold, ...cold } = await page('columnar cold', 1, columnar)
  process.stdout.write(`columnar, cold: ${JSON.stringify(cold)}\n`)
  const { answer: answeredWarm, ...warm } = await page('columnar warm', WARM_RUNS, columnar)
  process.stdout.write(`columnar, warm: ${JSON.stringify(warm)}\n`)
  if (answeredCold !== answeredAfter || answeredWarm !== answeredAfter) {
    throw new Error('the columnar report answers differently')
  }

  // Where a page's time goes: each step of the columnar report alone.
  const context = {
    doc: clients.doc,
    requests: new Requests(clients.doc),
    tables,
    now: Date.now,
    eventTtlMs: DAY,
  }
  const window = readWindow(query.current, query.timezone)
  const recordItem = await context.requests.getItem(tables.state, {
    pk: STATE.record(site.id),
    sk: STATE.one,
  })
  const packedTo = Number(recordItem?.packed_to)
  const lo = window.from - longest
  const packedDays: string[] = []
  for (let at = Date.parse(`${utcDay(lo)}T00:00:00Z`); at < packedTo; at += DAY) {
    packedDays.push(utcDay(at))
  }
  const timed = async <T>(phase: string, work: () => Promise<T> | T) => {
    meter.phase = phase
    const started = performance.now()
    const value = await work()
    return { value, ms: round(performance.now() - started), read_units: meter.of(phase).read_units }
  }
  const packsRead = await timed('packs read', () =>
    new RecordPacks(context, NO_WINDOWS).readDayParts(site.id, packedDays),
  )
  const dicts = new Dictionaries(query.timezone)
  const decoded = await timed('packs decoded', () =>
    [...packsRead.value.values()].map((parts) => {
      const builder = new PartBuilder(dicts)
      for (const z of parts) for (const s of decodePack(z)) builder.add(s)
      return builder.finish()
    }),
  )
  const unpackedRead = await timed('unpacked read', () =>
    indexSessionItems(context, site.id, Math.max(lo, packedTo), window.to, window.from),
  )
  const tailBuilt = await timed('unpacked columns', () =>
    columnarPart(
      dicts,
      unpackedRead.value.map((item) => ({ ...sessionOf(item), events: recordEventsOf(item) })),
    ),
  )
  const computed = await timed('report', () =>
    columnarReport({
      dicts,
      parts: [...decoded.value, tailBuilt.value],
      query,
      recordSince: from,
    }),
  )
  const steps = {
    packed_days: packedDays.length,
    packs_read: { ms: packsRead.ms, read_units: packsRead.read_units },
    packs_decoded: { ms: decoded.ms },
    unpacked_read: {
      ms: unpackedRead.ms,
      read_units: unpackedRead.read_units,
      sessions: unpackedRead.value.length,
    },
    unpacked_columns: { ms: tailBuilt.ms },
    report: { ms: computed.ms },
    held_bytes: decoded.value.reduce((sum, part) => sum + partBytes(part), 0) + dicts.bytes(),
  }
  process.stdout.write(`steps: ${JSON.stringify(steps)}\n`)

  const perDay = {
    sessions: round(packed.sessions / packed.days),
    compressed_bytes: Math.round(packed.bytes / packed.days),
    parts: round(packed.parts / packed.days, 2),
    write_units: round(packWriteUnits / packed.days),
    read_units: round(pack.read_units / packed.days),
  }
  const sessionShare = packed.sessions / sessions
  const perMillion = (bytes: number) => Math.round((bytes / events) * 1e6)
  const result = {
    measured_at: new Date().toISOString(),
    git: gitState(),
    store: 'dynamodb (DynamoDB Local, in memory, same machine)',
    events,
    sessions,
    load_seconds: round(loadSeconds),
    page: {
      path: '/api/stats?site=big&period=30d&filter=page:/pricing',
      runs: { before: BEFORE_RUNS, after: RUNS, columnar_warm: WARM_RUNS },
      ...(BEFORE_RUNS > 0 ? { before } : {}),
      after,
      columnar_cold: cold,
      columnar_warm: warm,
      columnar_steps: steps,
    },
    packer: {
      days: packed.days,
      events: Math.round(events * sessionShare),
      seconds: round(packSeconds),
      per_day: perDay,
      requests: pack.requests,
    },
    bytes_per_million_events: {
      session_items: perMillion(sessionBytes),
      // Each session item is copied whole into IdIndex and SiteStartIndex (projection ALL).
      session_items_with_index_copies: perMillion(sessionBytes * 3),
      packs: perMillion(packed.bytes / sessionShare),
      pack_ratio: round((sessionBytes * sessionShare) / packed.bytes, 1),
    },
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`)
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n-> ${RESULTS_FILE}\n`)
} finally {
  local.stop()
}
