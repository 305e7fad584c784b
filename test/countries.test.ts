import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeMmdbFile } from '../src/testing/mmdb-file.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { startTestServer, type TestServer } from './support/embedded-server.ts'

// Addresses whose countries were read from the shipped database (geo/place-lookup.test.ts).
const KOREAN = '211.234.10.10'
const GERMAN_V6 = '2a01:4f8::1'
const GERMAN = '5.9.0.1'

let proxied: TestServer
let token: string
beforeAll(async () => {
  proxied = await startTestServer({ ADMIN_PASSWORD: 'countries-password-1', TRUST_PROXY: '1' })
  token = await proxied.signIn()
})
afterAll(async () => {
  await proxied.stop()
})

const event = (sessionId: string) => ({
  events: [{ session_id: sessionId, event_type: 'page_view', page_url: 'https://shop.example/' }],
})

function storedCountry(sessionId: string): string[] {
  const rows = proxied
    .db()
    .prepare('SELECT country FROM events WHERE client_session_id = ?')
    .all(sessionId) as { country: string }[]
  return rows.map((r) => r.country)
}

describe('the country of a visitor without a CDN that says it', () => {
  it('is looked up from the client address the trusted proxy forwarded, IPv4 and IPv6', async () => {
    for (const [sessionId, address] of [
      ['from-kr', KOREAN],
      ['from-de-v6', GERMAN_V6],
    ] as const) {
      const res = await proxied.post(event(sessionId), { headers: { 'x-forwarded-for': address } })
      expect(res.status).toBe(200)
    }
    expect(storedCountry('from-kr')).toEqual(['KR'])
    expect(storedCountry('from-de-v6')).toEqual(['DE'])
  })

  it('is the CloudFront viewer country when the trusted proxy sends one', async () => {
    await proxied.post(event('header-wins'), {
      headers: { 'x-forwarded-for': GERMAN, 'cloudfront-viewer-country': 'fr' },
    })
    expect(storedCountry('header-wins')).toEqual(['FR'])
  })

  it('is unknown for a private address', async () => {
    await proxied.post(event('private'), { headers: { 'x-forwarded-for': '192.168.1.20' } })
    expect(storedCountry('private')).toEqual([''])
  })

  it('is counted under the looked-up country in /api/stats', async () => {
    const res = await fetch(
      `${proxied.url}/api/stats?site=${proxied.server.site.id}&period=today`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    )
    expect(res.status).toBe(200)
    const { data } = (await res.json()) as {
      data: { countries: { country: string; country_name: string; visitors: number }[] }
    }
    expect(data.countries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ country: 'KR', country_name: 'South Korea', visitors: 1 }),
        expect.objectContaining({ country: 'DE', visitors: 1 }),
        expect.objectContaining({ country: 'FR', visitors: 1 }),
      ]),
    )
  })

  it('leaves no trace of the address itself in the database', async () => {
    const db = proxied.db()
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string
    }[]
    const everything = tables
      .map(({ name }) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).raw().all()))
      .join('\n')
    expect(everything).toContain('from-kr')
    for (const address of [KOREAN, GERMAN_V6, GERMAN]) {
      expect(everything).not.toContain(address)
      // Nor in the file's bytes: a freed page or the write-ahead log would still hold it.
      for (const suffix of ['', '-wal']) {
        const bytes = readFileSync(`${proxied.server.databaseFile}${suffix}`)
        expect(bytes.includes(address), `${address} in liveinsight.db${suffix}`).toBe(false)
      }
    }
  })
})

describe('with GEO_CITY_DATABASE', () => {
  it('counts the visitor in the country the operator’s own database gives', async () => {
    const dir = tempDir()
    const file = join(dir.path, 'cities.mmdb')
    // The shipped database says US for this block.
    writeMmdbFile(file, [
      {
        network: '8.8.8.0/24',
        record: { country: { iso_code: 'CH' }, city: { names: { en: 'Zurich' } } },
      },
    ])
    const server = await startTestServer({ TRUST_PROXY: '1', GEO_CITY_DATABASE: file })
    try {
      await server.post(event('from-city-db'), { headers: { 'x-forwarded-for': '8.8.8.8' } })
      await server.post(event('not-in-city-db'), { headers: { 'x-forwarded-for': KOREAN } })
      const countries = server
        .db()
        .prepare(
          "SELECT client_session_id, country FROM events WHERE client_session_id LIKE '%db' ORDER BY 1",
        )
        .all()
      expect(countries).toEqual([
        { client_session_id: 'from-city-db', country: 'CH' },
        { client_session_id: 'not-in-city-db', country: 'KR' },
      ])
    } finally {
      await server.stop()
      dir.remove()
    }
  })
})
