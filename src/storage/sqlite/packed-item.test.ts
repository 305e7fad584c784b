import { describe, expect, it } from 'vitest'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { packBatch, unpackBatch } from './packed-item.ts'

describe('packed queue items', () => {
  it('keep what the roll-up reads of an event and its id, field for field, nulls included', () => {
    // Every field distinct, so two fields swapped in the packing would show.
    const event = enrichedEvent({
      event_id: 'evt-distinct',
      props: { plan: 'pro' },
      engagement_ms: 1200,
      user_id: null,
      source: 'Google',
      channel: 'search',
      utm_source: 'u-source',
      utm_medium: 'u-medium',
      utm_campaign: 'u-campaign',
      utm_term: 'u-term',
      utm_content: 'u-content',
      host: 'www.example.com',
      referrer_host: 'news.ycombinator.com',
      screen: 'laptop',
      browser: 'Firefox',
      os: 'Linux',
      device: 'desktop',
      country: 'DE',
      timezone: 'Europe/Berlin',
    })
    const hit = { site_id: 's', timezone: 'UTC', timestamp: 1 }
    const batch = packBatch([
      { seq: 7, item: { kind: 'event', event } },
      { seq: 8, item: { kind: 'bot', hit } },
    ])
    expect(batch).toMatchObject({ first: 7, count: 2 })

    // Without what only the raw row keeps.
    const { page_url, title, referrer, engagement_ms, ...queued } = event
    expect(unpackBatch(batch ?? expect.fail())).toStrictEqual([
      { seq: 7, item: { kind: 'event', event: queued } },
      { seq: 8, item: { kind: 'bot', hit } },
    ])
    expect(packBatch([])).toBeUndefined()
  })

  it('read a row queued by a build before schema 103 with "" for the fields it lacks', () => {
    // What that build wrote: the positional array up to country.
    const old = [
      ['r', 'e1', 's', 'UTC', 'c1', 5, 'page_view', '/', null, 'v1'].concat([
        'Direct',
        'direct',
        '',
        '',
        '',
        'Chrome',
        'Windows',
        'desktop',
        'KR',
      ]),
    ]
    const [entry] = unpackBatch({ first: 3, count: 1, text: JSON.stringify(old) })
    expect(entry?.item).toMatchObject({
      kind: 'event',
      event: {
        country: 'KR',
        host: '',
        utm_term: '',
        utm_content: '',
        screen: '',
        referrer_host: '',
        props: null,
      },
    })
  })
})
