/**
 * Request rate limits per key (a client address). An interface, so that a host with an edge in
 * front (API Gateway, a CDN) can limit there instead and give the collector none.
 */
export type RateDecision = { ok: true } | { ok: false; retryAfterS: number }

export interface RateLimiter {
  /** Counts one request of `key` at `now` (epoch ms), or says how long until one is allowed. */
  take(key: string, now: number): RateDecision
}

const ALLOWED: RateDecision = { ok: true }

/**
 * About 9 MB when full (some 180 bytes a key). A key is forgotten soon after its client's last
 * request (a tracker's dozen a minute leaves a full allowance a second later), so the table
 * holds about the addresses seen in the last seconds, and fills only under a flood from tens
 * of thousands of addresses at once, which a per-address limit cannot stop anyway.
 */
const DEFAULT_MAX_KEYS = 50_000

export interface MemoryRateLimiterOptions {
  /** Requests a minute, on average; a key that was quiet may send this many at once. */
  perMinute: number
  /**
   * Keys remembered at most. A full table forgets its least recently used key (the one
   * closest to a full allowance, so forgetting it costs the least), never all of them.
   */
  maxKeys?: number
}

/**
 * A token bucket per key, kept as one number (GCRA, the generic cell rate algorithm): the time
 * at which the key's bucket would be full again. Each request allowed moves it one interval
 * (a minute over `perMinute`) later; a request is refused while that time is more than a
 * bucket's worth of intervals away, and a refused one costs nothing. A key whose time has
 * passed has a full bucket, exactly as a key never seen: it can be forgotten at any moment,
 * which is how the table stays small when the traffic is spread or quiet.
 *
 * The map is kept in order of last use (a key is moved to the end on each request), so the
 * least recently used keys come first: each request forgets up to two of them that are idle,
 * and a new key in a full table forgets the first.
 */
export class MemoryRateLimiter implements RateLimiter {
  /** Key → the time (epoch ms) at which its bucket would be full again. */
  private readonly fullAt = new Map<string, number>()
  private readonly intervalMs: number
  /** How far ahead `fullAt` may be for a request to be allowed: a bucket less one request. */
  private readonly toleranceMs: number
  private readonly maxKeys: number

  constructor(options: MemoryRateLimiterOptions) {
    if (!(options.perMinute >= 1)) throw new RangeError('perMinute must be at least 1')
    this.intervalMs = 60_000 / options.perMinute
    this.toleranceMs = (options.perMinute - 1) * this.intervalMs
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS)
  }

  /** Keys remembered now (for tests and metrics). */
  get size(): number {
    return this.fullAt.size
  }

  take(key: string, now: number): RateDecision {
    const known = this.fullAt.get(key)
    if (known !== undefined) this.fullAt.delete(key)
    this.forgetIdle(now)
    if (known === undefined && this.fullAt.size >= this.maxKeys) this.forgetOldest()
    const from = known === undefined || known < now ? now : known
    if (from - now > this.toleranceMs) {
      this.fullAt.set(key, from)
      return {
        ok: false,
        retryAfterS: Math.max(1, Math.ceil((from - this.toleranceMs - now) / 1000)),
      }
    }
    this.fullAt.set(key, from + this.intervalMs)
    return ALLOWED
  }

  /** Up to two of the least recently used keys, when their buckets are full again. */
  private forgetIdle(now: number): void {
    for (let i = 0; i < 2; i++) {
      const oldest = this.fullAt.entries().next()
      if (oldest.done || oldest.value[1] > now) return
      this.fullAt.delete(oldest.value[0])
    }
  }

  private forgetOldest(): void {
    const oldest = this.fullAt.keys().next()
    if (!oldest.done) this.fullAt.delete(oldest.value)
  }
}

/**
 * The key one client is limited by: an IPv4 address as it is (an IPv4-mapped IPv6 address as
 * its IPv4), an IPv6 address by its /64 network, since one host commonly holds a whole /64 and
 * could take a fresh address for every request.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped?.[1]) return mapped[1]
  if (!ip.includes(':')) return ip
  const [head = '', tail] = (ip.split('%')[0] ?? '').split('::')
  const first = head ? head.split(':') : []
  const last = tail ? tail.split(':') : []
  const groups =
    tail === undefined
      ? first
      : [...first, ...Array<string>(Math.max(0, 8 - first.length - last.length)).fill('0'), ...last]
  const prefix = groups.slice(0, 4).map((group) => (Number.parseInt(group, 16) || 0).toString(16))
  return `${prefix.join(':')}::/64`
}
