import { createRequire } from 'node:module'
import { BlockList, isIP } from 'node:net'
import maxmind, { type Reader, type Response } from 'maxmind'
import { errorMessage } from '../core/error-message.ts'
import { GeoDatabaseError } from './geo-database-error.ts'

/**
 * The country database shipped on npm (ip-location-db's GeoFeed + Whois + ASN, IPv4 and IPv6
 * in one file): upgrading the package updates it. Resolved through node_modules, so it is
 * found from the sources and from the bundled server alike.
 */
export const COUNTRY_DATABASE = createRequire(import.meta.url).resolve(
  '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb',
)

/** Where an address is: an ISO 3166-1 country code, a region and a city name; '' unknown. */
export interface Place {
  country: string
  region: string
  city: string
}

const NOWHERE: Place = { country: '', region: '', city: '' }

/**
 * Addresses that are nobody's location: private, loopback, link-local, shared (CGNAT),
 * documentation, benchmarking, multicast and reserved ranges (IANA's special-purpose
 * registries). The shipped database answers some of them anyway (192.168.0.0/16 and
 * 203.0.113.0/24 as AU, 2001:db8::/32 as JP), so they are never looked up. IPv4-mapped IPv6
 * is left out: BlockList would match every IPv4 address against it, and clientIp hands those
 * over as IPv4 anyway.
 */
const NOT_LOCATED = (() => {
  const list = new BlockList()
  for (const [net, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 3],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv4')
  }
  for (const [net, prefix] of [
    ['::', 127],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001::', 23],
    ['2001:db8::', 32],
    ['2002::', 16],
    ['3fff::', 20],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv6')
  }
  return list
})()

/**
 * The records of the two layouts a city database comes in: MaxMind's (GeoLite2-City, DB-IP's
 * lite MMDB) and ip-location-db's flat one; the shipped country database is the flat one.
 */
interface PlaceRecord {
  country_code?: string
  state1?: string
  city?: string | { names?: { en?: string } }
  country?: { iso_code?: string }
  subdivisions?: { names?: { en?: string } }[]
}

/**
 * Looks visitor addresses up, with both databases opened once at start-up and held in
 * memory: the shipped country database, and the operator's own city database
 * (GEO_CITY_DATABASE) when there is one, which answers first where it knows the address.
 * The address is only looked up: nothing here keeps it.
 */
export class PlaceLookup {
  private constructor(
    private readonly countries: Reader<Response>,
    private readonly cities: Reader<Response> | undefined,
  ) {}

  static async open(options: { cityDatabase?: string } = {}): Promise<PlaceLookup> {
    const countries = await openDatabase(COUNTRY_DATABASE, 'the country database')
    const cities = options.cityDatabase
      ? await openDatabase(options.cityDatabase, 'GEO_CITY_DATABASE')
      : undefined
    return new PlaceLookup(countries, cities)
  }

  /**
   * When each database was built (its metadata's build epoch), for the start-up log: the
   * shipped one ages until the package is upgraded.
   */
  get built(): { countries: string; cities?: string } {
    const day = (reader: Reader<Response>) => reader.metadata.buildEpoch.toISOString().slice(0, 10)
    return {
      countries: day(this.countries),
      ...(this.cities ? { cities: day(this.cities) } : {}),
    }
  }

  /** The place of a bare address (as clientIp gives it); NOWHERE when it is nobody's. */
  place(address: string): Place {
    const family = isIP(address)
    if (family === 0 || NOT_LOCATED.check(address, family === 4 ? 'ipv4' : 'ipv6')) return NOWHERE
    const city = this.cities ? placeOf(this.cities.get(address) as PlaceRecord | null) : NOWHERE
    if (city.country) return city
    return {
      ...NOWHERE,
      country: placeOf(this.countries.get(address) as PlaceRecord | null).country,
    }
  }

  country(address: string): string {
    return this.place(address).country
  }
}

function placeOf(record: PlaceRecord | null): Place {
  if (!record) return NOWHERE
  const country = (record.country?.iso_code ?? record.country_code ?? '').toUpperCase()
  if (!/^[A-Z]{2}$/.test(country)) return NOWHERE
  const city = typeof record.city === 'string' ? record.city : (record.city?.names?.en ?? '')
  return { country, region: record.subdivisions?.[0]?.names?.en ?? record.state1 ?? '', city }
}

async function openDatabase(file: string, what: string): Promise<Reader<Response>> {
  try {
    return await maxmind.open<Response>(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'this user may not read it'
          : code === 'EISDIR'
            ? 'a folder, not a file'
            : `not an MMDB database: ${errorMessage(error)}`
    throw new GeoDatabaseError(
      `${what}: cannot open ${file} (${why}): point it at an MMDB city database, such as GeoLite2-City.mmdb, or leave it unset`,
      { cause: error },
    )
  }
}
