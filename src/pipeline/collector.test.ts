import { describe, expect, it } from 'vitest'
import type { AcceptOutcome } from '../accept/accept-stage.ts'
import type { AcceptRequest } from '../accept/prepare-request.ts'
import type { Site } from '../core/types.ts'
import type { RateLimiter } from '../limits/rate-limiter.ts'
import { Collector } from './collector.ts'
import type { Pipeline } from './pipeline.ts'

const SITE = { id: 'default' } as Site
const REQUEST = { ip: '203.0.113.7', userAgent: 'test', country: '' }
const STORED: AcceptOutcome = {
  result: { accepted: 1, duplicates: 0, bots: 0, rejected: [] },
}

/** A pipeline that answers each accept only when the test says so. */
function heldPipeline() {
  const held: Array<{ request: AcceptRequest; answer: () => void }> = []
  const pipeline = {
    accept: (request: AcceptRequest) =>
      new Promise<AcceptOutcome>((resolve) => {
        held.push({ request, answer: () => resolve(STORED) })
      }),
    settle: async () => {},
    close: async () => {},
  } as unknown as Pipeline
  return { pipeline, held }
}

describe('Collector bounds the work waiting for its commit', () => {
  it('sheds a request at once past MAX_PENDING_REQUESTS, without handing it over', async () => {
    const { pipeline, held } = heldPipeline()
    const collector = new Collector({ pipeline, maxPending: { requests: 2, bytes: 1e9 } })
    const first = collector.collect(SITE, 'a', REQUEST)
    collector.collect(SITE, 'bb', REQUEST)
    expect(await collector.collect(SITE, 'ccc', REQUEST)).toEqual({ shed: { retryAfterS: 1 } })
    expect(held.map((h) => h.request.body)).toEqual(['a', 'bb'])
    expect(collector.stats()).toEqual({
      rateLimitedRequests: 0,
      shedRequests: 1,
      shedBytes: 3,
      pendingRequests: 2,
      pendingBytes: 3,
    })

    // Room again once one is answered.
    held[0]?.answer()
    expect(await first).toEqual(STORED)
    expect(await Promise.race([collector.collect(SITE, 'dd', REQUEST), 'waiting'])).toBe('waiting')
    expect(collector.stats()).toMatchObject({ pendingRequests: 2, pendingBytes: 4 })
  })

  it('sheds past MAX_PENDING bytes, but always takes one request whatever its size', async () => {
    const { pipeline, held } = heldPipeline()
    const collector = new Collector({ pipeline, maxPending: { requests: 100, bytes: 1000 } })
    collector.collect(SITE, 'x'.repeat(1500), REQUEST)
    expect(held).toHaveLength(1)
    expect(await collector.collect(SITE, 'y', REQUEST)).toEqual({ shed: { retryAfterS: 1 } })
    held[0]?.answer()
    await collector.settle()

    collector.collect(SITE, 'x'.repeat(600), REQUEST)
    collector.collect(SITE, 'x'.repeat(400), REQUEST)
    expect(await collector.collect(SITE, 'z', REQUEST)).toEqual({ shed: { retryAfterS: 1 } })
    expect(held).toHaveLength(3)
    expect(collector.stats()).toMatchObject({
      shedRequests: 2,
      shedBytes: 2,
      pendingRequests: 2,
      pendingBytes: 1000,
    })
    for (const h of held) h.answer()
    await collector.settle()
    expect(collector.stats()).toMatchObject({ pendingRequests: 0, pendingBytes: 0 })
  })

  it('counts what its rate limiter refuses, by address (IPv6 by /64)', () => {
    const keys: string[] = []
    const rateLimiter: RateLimiter = {
      take: (key) => {
        keys.push(key)
        return keys.length > 1 ? { ok: false, retryAfterS: 7 } : { ok: true }
      },
    }
    const collector = new Collector({ pipeline: heldPipeline().pipeline, rateLimiter })
    expect(collector.limitRate('2001:db8:1:2::a')).toEqual({ ok: true })
    expect(collector.limitRate('2001:db8:1:2::b')).toEqual({ ok: false, retryAfterS: 7 })
    expect(keys).toEqual(['2001:db8:1:2::/64', '2001:db8:1:2::/64'])
    expect(collector.stats().rateLimitedRequests).toBe(1)
    expect(new Collector({ pipeline: heldPipeline().pipeline }).limitRate('x')).toEqual({
      ok: true,
    })
  })
})
