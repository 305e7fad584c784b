import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

const PASSWORD = 'metrics-password-1'
const METRICS_TOKEN = 'scraper-token-0123456789'

let t: TestServer
let token = ''
beforeAll(async () => {
  t = await startTestServer({ ADMIN_PASSWORD: PASSWORD, METRICS_TOKEN })
  token = await t.signIn()
})
afterAll(async () => {
  await t.stop()
})

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?[0-9.e+-]+|[nN]a[nN]|[+-][iI]nf)(?: -?\\d+)?$`,
)
const HELP = new RegExp(`^# HELP (${NAME}) .*$`)
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

/**
 * Parses Prometheus text exposition (format 0.0.4) strictly enough to catch a malformed line:
 * every line is HELP, TYPE or a sample, and every sample belongs to a family declared above it.
 */
function parseExposition(text: string): Sample[] {
  const families = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const help = HELP.exec(line)
    if (help) continue
    const type = TYPE.exec(line)
    if (type) {
      families.set(type[1] as string, type[2] as string)
      continue
    }
    const sample = SAMPLE.exec(line)
    if (!sample) throw new Error(`not Prometheus exposition: ${JSON.stringify(line)}`)
    const name = sample[1] as string
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => families.has(n))
    if (!family) throw new Error(`sample of an undeclared family: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string
    const raw = sample[3] as string
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client: "Nan").
    const special = raw.toLowerCase()
    samples.push({
      name,
      labels,
      value:
        special === 'nan'
          ? Number.NaN
          : special.endsWith('inf')
            ? Number(`${raw[0]}Infinity`)
            : Number(raw),
    })
  }
  return samples
}

async function scrape(
  headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` },
) {
  const res = await fetch(`${t.url}/metrics`, { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseExposition(await res.text())
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`)
  return found.value
}

const event = (overrides: Record<string, unknown> = {}) => ({
  event_type: 'page_view',
  page_url: 'https://shop.example/',
  session_id: 'm1',
  ...overrides,
})

describe('GET /metrics', () => {
  it('refuses anonymous requests, wrong tokens and ingest keys', async () => {
    const anonymous = await fetch(`${t.url}/metrics`)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ status: 'error' })
    const refused: Record<string, string>[] = [
      { authorization: 'Bearer scraper-token-wrong-0000' },
      { authorization: `Bearer ${METRICS_TOKEN}x` },
      { 'x-api-key': 'test_key_0123456789abcdef' },
    ]
    for (const headers of refused) {
      expect((await fetch(`${t.url}/metrics`, { headers })).status).toBe(401)
    }
  })

  it('takes METRICS_TOKEN, a dashboard token or the dashboard cookie', async () => {
    await scrape()
    await scrape({ authorization: `Bearer ${token}` })
    const login = await fetch(`${t.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
    await scrape({ cookie })
  })

  it('exposes what an operator watches, with the store read at scrape time', async () => {
    const samples = await scrape()
    for (const name of [
      'liveinsight_events_accepted_total',
      'liveinsight_events_rejected_total',
      'liveinsight_events_bots_total',
      'liveinsight_events_duplicates_total',
      'liveinsight_accept_commit_seconds_count',
      'liveinsight_rollup_backlog',
      'liveinsight_rollup_lag_seconds',
      'liveinsight_storage_up',
      'process_resident_memory_bytes',
    ]) {
      expect(samples.some((s) => s.name === name)).toBe(true)
    }
    // Registered before the features exist, so dashboards can be built: 0 until then.
    expect(value(samples, 'liveinsight_requests_rate_limited_total')).toBe(0)
    expect(value(samples, 'liveinsight_requests_shed_total')).toBe(0)
    expect(value(samples, 'liveinsight_storage_up')).toBe(1)
    expect(value(samples, 'liveinsight_build_info', { storage: 'sqlite' })).toBe(1)
    expect(samples.find((s) => s.name === 'liveinsight_build_info')?.labels.version).toMatch(
      /^\d+\.\d+\.\d+/,
    )
  })

  it('counts what the collector answered, how long commits took, and answers by route', async () => {
    const before = await scrape()
    const counter = (samples: Sample[], name: string) => value(samples, name)
    const batch = {
      events: [
        event({ event_id: 'e1', timestamp: Date.now() }),
        event({ page_url: 'not a url' }),
        event({ user_agent: 'curl/8.0' }),
      ],
    }
    expect((await t.post(batch)).status).toBe(200)
    // The tracker's retry: the same event id and timestamp again.
    expect((await t.post({ events: [batch.events[0]] })).status).toBe(200)
    await fetch(`${t.url}/api/sessions/nope`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${t.url}/no/such/path/12345`)

    const after = await scrape()
    const moved = (name: string) => counter(after, name) - counter(before, name)
    expect(moved('liveinsight_events_accepted_total')).toBe(3)
    expect(moved('liveinsight_events_rejected_total')).toBe(1)
    expect(moved('liveinsight_events_bots_total')).toBe(1)
    expect(moved('liveinsight_events_duplicates_total')).toBe(1)
    expect(moved('liveinsight_accept_commit_seconds_count')).toBe(2)
    expect(value(after, 'liveinsight_accept_commit_seconds_bucket', { le: '+Inf' })).toBe(
      value(after, 'liveinsight_accept_commit_seconds_count'),
    )

    const http = (labels: Record<string, string>) =>
      value(after, 'liveinsight_http_requests_total', labels)
    expect(http({ method: 'POST', route: '/api/events', status: '200' })).toBeGreaterThanOrEqual(2)
    expect(http({ method: 'GET', route: '/api/sessions/:id', status: '404' })).toBe(1)
    expect(http({ method: 'GET', route: '/metrics', status: '401' })).toBeGreaterThanOrEqual(1)
    // A path no route takes is never a label of its own.
    expect(http({ method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1)
    expect(after.some((s) => s.labels.route?.includes('12345'))).toBe(false)
  })

  it('reports the roll-up backlog and lag', async () => {
    await t.server.settle()
    const samples = await scrape()
    expect(value(samples, 'liveinsight_rollup_backlog')).toBe(0)
    expect(value(samples, 'liveinsight_rollup_lag_seconds')).toBe(0)
  })
})

describe('GET /health', () => {
  it('is public and says up and the roll-up lag, nothing more', async () => {
    await t.server.settle()
    const res = await fetch(`${t.url}/health`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'success', data: { status: 'ok', rollup_lag_s: 0 } })
  })

  it('says storage is failing when the store cannot read, and that the lag cannot be read', async () => {
    const broken = await startTestServer()
    await broken.server.store.close()
    const res = await fetch(`${broken.url}/health`)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'error',
      message: 'storage failing',
      details: { rollup_lag_s: null },
    })
    await broken.stop().catch(() => undefined)
  })
})
