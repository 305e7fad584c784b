import type { Acquisition } from './types.ts'

/**
 * Referrer → source and channel. Known hosts are matched on their registrable part
 * ("www.google.co.uk" → "google"), so country domains need no entries of their own.
 */
const KNOWN: Record<string, { source: string; channel: 'search' | 'social' | 'email' }> = {
  google: { source: 'Google', channel: 'search' },
  bing: { source: 'Bing', channel: 'search' },
  duckduckgo: { source: 'DuckDuckGo', channel: 'search' },
  yahoo: { source: 'Yahoo', channel: 'search' },
  baidu: { source: 'Baidu', channel: 'search' },
  yandex: { source: 'Yandex', channel: 'search' },
  ecosia: { source: 'Ecosia', channel: 'search' },
  naver: { source: 'Naver', channel: 'search' },
  qwant: { source: 'Qwant', channel: 'search' },
  startpage: { source: 'Startpage', channel: 'search' },
  facebook: { source: 'Facebook', channel: 'social' },
  instagram: { source: 'Instagram', channel: 'social' },
  twitter: { source: 'Twitter', channel: 'social' },
  't.co': { source: 'Twitter', channel: 'social' },
  x: { source: 'Twitter', channel: 'social' },
  linkedin: { source: 'LinkedIn', channel: 'social' },
  lnkd: { source: 'LinkedIn', channel: 'social' },
  reddit: { source: 'Reddit', channel: 'social' },
  youtube: { source: 'YouTube', channel: 'social' },
  pinterest: { source: 'Pinterest', channel: 'social' },
  tiktok: { source: 'TikTok', channel: 'social' },
  'news.ycombinator': { source: 'Hacker News', channel: 'social' },
  mastodon: { source: 'Mastodon', channel: 'social' },
  threads: { source: 'Threads', channel: 'social' },
  bsky: { source: 'Bluesky', channel: 'social' },
  'mail.google': { source: 'Gmail', channel: 'email' },
  'outlook.live': { source: 'Outlook', channel: 'email' },
  'mail.yahoo': { source: 'Yahoo Mail', channel: 'email' },
}

const EMAIL_MEDIUMS = new Set(['email', 'e-mail', 'newsletter'])
const SOCIAL_MEDIUMS = new Set(['social', 'social-media', 'sm'])
const SEARCH_MEDIUMS = new Set(['cpc', 'ppc', 'paid', 'paidsearch', 'search', 'organic'])

/** Strips "www." and mobile prefixes so "m.facebook.com" and "facebook.com" are one source. */
export function bareHost(host: string): string {
  return host.toLowerCase().replace(/^(www\d*|m|mobile|l|lm)\./, '')
}

function known(host: string) {
  const labels = bareHost(host).split('.')
  // Longest name first, so "news.ycombinator.com" wins over anything shorter; each suffix is
  // tried whole ("t.co"), without its TLD ("google"), and without a two-part country TLD
  // ("google.co.uk" → "google").
  for (let i = 0; i < labels.length; i++) {
    const rest = labels.slice(i)
    const candidates = [rest.join('.'), rest.slice(0, -1).join('.')]
    const secondLevel = rest.at(-2)
    if (rest.length >= 3 && secondLevel !== undefined && secondLevel.length <= 3) {
      candidates.push(rest.slice(0, -2).join('.'))
    }
    for (const candidate of candidates) {
      const hit = KNOWN[candidate]
      if (hit) return hit
    }
  }
  return undefined
}

function channelFromMedium(medium: string): string {
  const m = medium.toLowerCase()
  if (EMAIL_MEDIUMS.has(m)) return 'email'
  if (SOCIAL_MEDIUMS.has(m)) return 'social'
  if (SEARCH_MEDIUMS.has(m)) return 'search'
  return m
}

export interface ReferrerInput {
  referrer: string
  pageHost: string
  /** The site's configured domain, also treated as "self". */
  siteDomain: string
  utm_source: string
  utm_medium: string
  utm_campaign: string
  utm_term: string
  utm_content: string
}

/** The referrer's host, "" when there is none or it is not http(s). */
function hostOf(referrer: string): string {
  if (!referrer || !URL.canParse(referrer)) return ''
  const parsed = new URL(referrer)
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.hostname : ''
}

function isSelfReferral(refHost: string, input: ReferrerInput): boolean {
  const self = new Set([bareHost(input.pageHost), bareHost(input.siteDomain)].filter(Boolean))
  return refHost !== '' && self.has(bareHost(refHost))
}

/**
 * Where a visit came from as a host (the session's `referrer`, a filter of the record): the
 * referrer's host as sent (lower-case, "www." kept, so a filter can tell `www.` from `news.`),
 * "" when the visit is direct, a self-referral included, as its source says.
 */
export function referrerHost(input: ReferrerInput): string {
  const refHost = hostOf(input.referrer)
  return isSelfReferral(refHost, input) ? '' : refHost
}

/** Self-referrals (same host, www or not, or the site's domain) count as direct traffic. */
export function classifyAcquisition(input: ReferrerInput): Acquisition {
  const utm = {
    utm_source: input.utm_source,
    utm_medium: input.utm_medium,
    utm_campaign: input.utm_campaign,
    utm_term: input.utm_term,
    utm_content: input.utm_content,
  }
  const refHost = hostOf(input.referrer)
  const isSelf = isSelfReferral(refHost, input)
  const fromReferrer = refHost && !isSelf ? known(refHost) : undefined

  if (input.utm_source) {
    const channel = input.utm_medium
      ? channelFromMedium(input.utm_medium)
      : (fromReferrer?.channel ?? 'referral')
    return { source: input.utm_source, channel, ...utm }
  }
  if (!refHost || isSelf) return { source: 'Direct', channel: 'direct', ...utm }
  if (fromReferrer) return { ...fromReferrer, ...utm }
  return { source: bareHost(refHost), channel: 'referral', ...utm }
}
