import { boundedMemo } from '../core/bounded-memo.ts'
import { normalizePageUrl } from '../core/page-url.ts'
import type { EventInput } from '../core/parse-event.ts'
import { classifyAcquisition, type ReferrerInput, referrerHost } from '../core/referrer.ts'
import { screenClass } from '../core/screen-class.ts'
import type { EnrichedEvent, Site } from '../core/types.ts'
import { parseUserAgent } from '../core/user-agent.ts'
import { visitorId } from '../core/visitor-id.ts'

/** What the request itself tells about the sender. */
export interface RequestContext {
  ip: string
  userAgent: string
  /** From CloudFront-Viewer-Country when present, else "". */
  country: string
}

// Both are pure functions of a few strings that traffic repeats (see bounded-memo.ts).
const pageOf = boundedMemo(4000, (url: string) => url, normalizePageUrl)
const acquisitionOf = boundedMemo(
  4000,
  (i: ReferrerInput) =>
    `${i.referrer}\n${i.pageHost}\n${i.siteDomain}\n${i.utm_source}\n${i.utm_medium}\n${i.utm_campaign}\n${i.utm_term}\n${i.utm_content}`,
  // The host rides along in the same memo: one URL parse more per distinct referrer, not per event.
  (i: ReferrerInput) => ({ ...classifyAcquisition(i), referrer_host: referrerHost(i) }),
)

export type Enriched = { bot: false; event: EnrichedEvent } | { bot: true }

/** Turns one validated event into everything the pipeline counts by. Pure given the salt. */
export function enrichEvent(
  input: EventInput,
  site: Site,
  request: RequestContext,
  salt: string,
  newEventId: () => string,
): Enriched {
  const userAgent = input.user_agent ?? request.userAgent
  const client = parseUserAgent(userAgent)
  if (client.bot) return { bot: true }
  const page = pageOf(input.page_url)
  const visitor = visitorId({
    userId: input.user_id,
    salt,
    siteId: site.id,
    ip: request.ip,
    userAgent,
  })
  const acquisition = acquisitionOf({
    referrer: input.referrer,
    pageHost: page.host,
    siteDomain: site.domain,
    utm_source: page.utm_source,
    utm_medium: page.utm_medium,
    utm_campaign: page.utm_campaign,
    utm_term: page.utm_term,
    utm_content: page.utm_content,
  })
  return {
    bot: false,
    event: {
      site_id: site.id,
      timezone: site.timezone,
      event_id: input.event_id ?? newEventId(),
      // No session id (the original minimal snippet): the visitor's events form sessions by
      // the timeout rule alone.
      client_session_id: input.session_id ?? `v:${visitor}`,
      timestamp: input.timestamp,
      event_type: input.event_type,
      page_url: page.url,
      path: page.path,
      host: page.host,
      title: input.title,
      referrer: input.referrer,
      user_id: input.user_id,
      visitor_id: visitor,
      props: input.props,
      engagement_ms: input.engagement_ms,
      ...acquisition,
      browser: client.browser,
      os: client.os,
      device: client.device,
      country: request.country,
      screen: screenClass(input.screen_width),
    },
  }
}
