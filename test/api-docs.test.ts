import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FILTER_EVENT_DIMENSIONS, FILTER_SESSION_DIMENSIONS } from '../src/core/stats-filters.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

let t: TestServer
beforeAll(async () => {
  t = await startTestServer()
})
afterAll(async () => {
  await t.stop()
})

describe('API documentation', () => {
  it('serves an OpenAPI document built from the validating schemas', async () => {
    const res = await fetch(`${t.url}/openapi.json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as any
    expect(doc.openapi).toBe('3.1.0')
    const batch = doc.paths['/api/events'].post.requestBody.content['application/json'].schema
    expect(batch.properties.events.maxItems).toBe(100)
    const event = batch.properties.events.items
    expect(event.properties.session_id).toMatchObject({
      type: 'string',
      minLength: 1,
      maxLength: 128,
    })
    expect(event.properties.screen_width).toMatchObject({
      type: 'integer',
      minimum: 0,
      maximum: 100_000,
      description: expect.stringContaining('mobile under 576'),
    })
    expect(doc.paths['/api/stats'].get.responses['200'].description).toContain(
      'utm_terms, utm_contents, hostnames',
    )
    const statsParams = doc.paths['/api/stats'].get.parameters
    const period = statsParams.find((p: { name: string }) => p.name === 'period')
    expect(period.schema.enum).toEqual([
      'today',
      'yesterday',
      '24h',
      '7d',
      '30d',
      '90d',
      '12mo',
      'custom',
    ])
    expect(statsParams.find((p: { name: string }) => p.name === 'site').required).toBe(true)
  })

  it('says which session ids the session route takes, and with which parameters', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as any
    const route = doc.paths['/api/sessions/{id}'].get
    expect(route.description).toMatch(/tracker's session id.*`site`.*stored session id/s)
    const params = Object.fromEntries(
      route.parameters.map((p: { name: string }) => [p.name, p]),
    ) as Record<string, { in: string; required: boolean; description: string }>
    expect(Object.keys(params)).toEqual(['id', 'site', 'at'])
    expect(params.site).toMatchObject({ in: 'query', required: false })
    expect(params.site?.description).toMatch(/tracker's session id \(`session_id`\)/)
    expect(params.at).toMatchObject({ in: 'query', required: false })
    expect(params.at?.description).toMatch(/epoch milliseconds or an ISO 8601 date-time/)
    expect(Object.keys(route.responses)).toEqual(['200', '400', '401', '404'])
    // The readable page shows what they mean too.
    const page = await (await fetch(`${t.url}/docs`)).text()
    expect(page).toContain('epoch milliseconds or an ISO 8601 date-time')
  })

  it('documents the filter grammar, every dimension, and what the answer adds', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as any
    const stats = doc.paths['/api/stats'].get
    const filter = stats.parameters.find((p: { name: string }) => p.name === 'filter')
    expect(filter.description).toContain('DIM!:VALUE (is not)')
    expect(stats.parameters.map((p: { name: string }) => p.name)).toContain('props')
    const page = await (await fetch(`${t.url}/docs`)).text()
    for (const dim of [...FILTER_SESSION_DIMENSIONS, ...FILTER_EVENT_DIMENSIONS, 'prop.KEY']) {
      expect(page, dim).toContain(dim)
    }
    for (const words of [
      'containing `:` cannot be filtered',
      '`data.filters`',
      'data.props[KEY]',
      'data.record_since',
      'tablet under 992',
    ]) {
      expect(page, words).toContain(words)
    }
  })

  it('renders a docs page on the server, with no external scripts or styles', async () => {
    const res = await fetch(`${t.url}/docs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/html/)
    const page = await res.text()
    expect(page).toContain('<code>/api/stats</code>')
    expect(page).toContain('/openapi.json')
    expect(page).not.toMatch(/<script[^>]+src=/)
    expect(page).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"'\s]+\.(js|css)/)
  })
})
