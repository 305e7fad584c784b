import { describe, expect, it } from 'vitest'
import type { EnrichedEvent } from '../../core/types.ts'
import { enrichedEvent } from '../../testing/enriched-event.ts'
import { makeSession } from '../../testing/fixtures.ts'
import { queuedItemOf, sessionItem, sessionOf } from './items.ts'
import { clientPartition, eventSortKey } from './keys.ts'

/** An event item as the release before request items wrote it (still on the stream a day). */
function eventItem(event: EnrichedEvent): Record<string, unknown> {
  return {
    pk: clientPartition(event.site_id, event.client_session_id),
    sk: eventSortKey(event.timestamp, event.event_id),
    kind: 'event',
    ...event,
    props: event.props === null ? null : JSON.stringify(event.props),
  }
}

/** An item as a build before the hostname, utm_term, utm_content and screen fields wrote it. */
function older(item: Record<string, unknown>): Record<string, unknown> {
  const { hostname, utm_term, utm_content, screen, ...rest } = item
  return rest
}

describe('DynamoDB items written before the newer session dimensions', () => {
  it('give a session "" for the fields they lack, as SQLite\'s migration gives its rows', () => {
    const session = makeSession({ hostname: 'shop.example.com', screen: 'mobile' })
    expect(sessionOf(sessionItem(session))).toEqual(session)
    expect(sessionOf(older(sessionItem(session)))).toEqual({
      ...session,
      hostname: '',
      utm_term: '',
      utm_content: '',
      screen: '',
    })
  })

  it('give a queued event "" for the fields they lack', () => {
    const event = enrichedEvent({ utm_term: 'shoes', utm_content: 'hero', screen: 'tablet' })
    const item = eventItem(event)
    expect(queuedItemOf(item)).toMatchObject({
      event: { utm_term: 'shoes', utm_content: 'hero', screen: 'tablet', host: 'example.com' },
    })
    expect(queuedItemOf(older(item))).toMatchObject({
      event: { utm_term: '', utm_content: '', screen: '', host: 'example.com' },
    })
  })
})
