import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeMmdbFile } from '../testing/mmdb-file.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { GeoDatabaseError } from './geo-database-error.ts'
import { PlaceLookup } from './place-lookup.ts'

// The countries of these blocks were read from the shipped database and are long-standing
// allocations (KT in Korea, Google in the US, Hetzner in Germany), so an upgrade of the
// package should not move them.
let places: PlaceLookup
beforeAll(async () => {
  places = await PlaceLookup.open()
})

describe('the shipped country database', () => {
  it('finds the country of public IPv4 addresses', () => {
    expect(places.country('211.234.10.10')).toBe('KR')
    expect(places.country('8.8.8.8')).toBe('US')
    expect(places.country('5.9.0.1')).toBe('DE')
  })

  it('finds the country of public IPv6 addresses', () => {
    expect(places.country('2001:4860:4860::8888')).toBe('US')
    expect(places.country('2a01:4f8::1')).toBe('DE')
  })

  it('says when it was built, so an operator sees how old it is', () => {
    expect(places.built.countries).toMatch(/^20\d\d-\d\d-\d\d$/)
    expect(places.built.cities).toBeUndefined()
  })

  it('gives a country only: region and city need a city database', () => {
    expect(places.place('211.234.10.10')).toEqual({ country: 'KR', region: '', city: '' })
  })

  it('places no private, loopback, link-local, documentation or shared address', () => {
    // Several of these the database itself answers (192.168.0.0/16 and 203.0.113.0/24 as AU,
    // 2001:db8::/32 as JP): they are nobody's location, so the lookup must not ask it.
    for (const address of [
      '10.1.2.3',
      '127.0.0.1',
      '169.254.1.1',
      '172.16.5.4',
      '192.168.1.1',
      '100.64.0.1',
      '192.0.2.1',
      '198.51.100.1',
      '203.0.113.7',
      '198.18.3.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '2001:db8::1',
      'ff02::1',
    ]) {
      expect(places.country(address), address).toBe('')
    }
  })

  it('places nothing that is not an address', () => {
    expect(places.country('')).toBe('')
    expect(places.country('unknown')).toBe('')
    expect(places.country('211.234.10.10:443')).toBe('')
  })
})

describe('GEO_CITY_DATABASE', () => {
  const dir = tempDir()
  afterAll(() => dir.remove())

  it('answers first, with region and city, in MaxMind’s layout and in the flat one', async () => {
    const file = join(dir.path, 'cities.mmdb')
    writeMmdbFile(file, [
      {
        network: '5.9.0.0/24',
        record: {
          country: { iso_code: 'DE' },
          subdivisions: [{ names: { en: 'Saxony' } }],
          city: { names: { en: 'Falkenstein' } },
        },
      },
      {
        network: '2a01:4f8::/32',
        record: { country_code: 'de', state1: 'Bavaria', city: 'Nuremberg' },
      },
      // The shipped database says US: the operator's own database is believed over it.
      {
        network: '8.8.8.0/24',
        record: { country: { iso_code: 'CH' }, city: { names: { en: 'Zurich' } } },
      },
      { network: '192.168.0.0/16', record: { country: { iso_code: 'AU' } } },
    ])
    const cities = await PlaceLookup.open({ cityDatabase: file })
    expect(cities.built.cities).toBe('2023-11-14')
    expect(cities.place('5.9.0.1')).toEqual({
      country: 'DE',
      region: 'Saxony',
      city: 'Falkenstein',
    })
    expect(cities.place('2a01:4f8::1')).toEqual({
      country: 'DE',
      region: 'Bavaria',
      city: 'Nuremberg',
    })
    expect(cities.place('8.8.8.8')).toEqual({ country: 'CH', region: '', city: 'Zurich' })
    // Where it knows nothing the shipped database still gives the country.
    expect(cities.place('211.234.10.10')).toEqual({ country: 'KR', region: '', city: '' })
    expect(cities.place('2001:4860:4860::8888')).toEqual({ country: 'US', region: '', city: '' })
    expect(cities.place('192.168.1.1')).toEqual({ country: '', region: '', city: '' })
  })

  it('refuses a file that is not there, naming the setting and the path', async () => {
    const missing = join(dir.path, 'GeoLite2-City.mmdb')
    const opening = PlaceLookup.open({ cityDatabase: missing })
    await expect(opening).rejects.toBeInstanceOf(GeoDatabaseError)
    await expect(opening).rejects.toThrow(
      `GEO_CITY_DATABASE: cannot open ${missing} (no such file)`,
    )
  })

  it('refuses a file that is not an MMDB database', async () => {
    const text = join(dir.path, 'not-a-database.mmdb')
    writeFileSync(text, 'country,city\nKR,Seoul\n')
    await expect(PlaceLookup.open({ cityDatabase: text })).rejects.toThrow(
      `GEO_CITY_DATABASE: cannot open ${text} (not an MMDB database`,
    )
  })
})
