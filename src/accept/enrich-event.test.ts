import { describe, expect, it } from 'vitest'
import { parseEventInput } from '../core/parse-event.ts'
import { makeSite } from '../testing/fixtures.ts'
import { enrichEvent } from './enrich-event.ts'

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0)
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const site = makeSite({ domain: 'example.com' })

/** The event the collector makes of one tracker payload. */
function enriched(fields: Record<string, unknown>) {
  const parsed = parseEventInput(
    { event_type: 'page_view', page_url: 'https://example.com/', ...fields },
    NOW,
  )
  if (!parsed.ok) throw new Error(parsed.message)
  const result = enrichEvent(
    parsed.event,
    site,
    { ip: '203.0.113.7', userAgent: CHROME, country: '' },
    'salt',
    () => 'evt-1',
  )
  if (result.bot) throw new Error('counted as a bot')
  return result.event
}

describe('enrichEvent: the dimensions peers have', () => {
  it.each([
    [0, 'mobile'],
    [575, 'mobile'],
    [576, 'tablet'],
    [991, 'tablet'],
    [992, 'laptop'],
    [1439, 'laptop'],
    [1440, 'desktop'],
    [100_000, 'desktop'],
  ])('a viewport %i px wide is a %s screen', (width, screen) => {
    expect(enriched({ screen_width: width }).screen).toBe(screen)
  })

  it('has no screen class when no width was sent', () => {
    expect(enriched({}).screen).toBe('')
  })

  it("takes utm_term and utm_content from the page URL's query", () => {
    const event = enriched({
      page_url: 'https://example.com/p?utm_source=ads&utm_term=red%20shoes&utm_content=hero',
    })
    expect(event).toMatchObject({
      source: 'ads',
      utm_source: 'ads',
      utm_term: 'red shoes',
      utm_content: 'hero',
    })
    expect(enriched({}).utm_term).toBe('')
    expect(enriched({}).utm_content).toBe('')
  })

  it("keeps the page's hostname, lower-cased and without the port", () => {
    expect(enriched({ page_url: 'https://Docs.Example.com:8443/guide' }).host).toBe(
      'docs.example.com',
    )
  })

  it("keeps the referrer's host for the session, none for a self-referral", () => {
    const from = (referrer: string) => enriched({ referrer })
    expect(from('https://news.ycombinator.com/item?id=1')).toMatchObject({
      source: 'Hacker News',
      referrer_host: 'news.ycombinator.com',
    })
    expect(from('https://www.example.com/pricing').referrer_host).toBe('')
    expect(from('').referrer_host).toBe('')
  })
})
