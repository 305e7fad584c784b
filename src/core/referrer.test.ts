import { describe, expect, it } from 'vitest'
import { bareHost, classifyAcquisition, type ReferrerInput, referrerHost } from './referrer.ts'

function classify(overrides: Partial<ReferrerInput>) {
  return classifyAcquisition({
    referrer: '',
    pageHost: 'example.com',
    siteDomain: 'example.com',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    ...overrides,
  })
}

describe('classifyAcquisition: referrer only', () => {
  it.each([
    // [label, referrer, source, channel]
    ['no referrer', '', 'Direct', 'direct'],
    ['a string that is no URL', 'not a url', 'Direct', 'direct'],
    ['a non-http referrer', 'android-app://com.google.android.gm/', 'Direct', 'direct'],
    ['same host', 'https://example.com/pricing', 'Direct', 'direct'],
    ['www of the same host', 'https://www.example.com/', 'Direct', 'direct'],
    ['google.com', 'https://google.com/', 'Google', 'search'],
    ['www.google.com with a query', 'https://www.google.com/search?q=x', 'Google', 'search'],
    ['www.google.co.uk', 'https://www.google.co.uk/', 'Google', 'search'],
    ['google.de', 'https://google.de/', 'Google', 'search'],
    ['upper-case host', 'https://WWW.GOOGLE.COM/', 'Google', 'search'],
    ['bing', 'https://www.bing.com/search?q=x', 'Bing', 'search'],
    ['duckduckgo', 'https://duckduckgo.com/', 'DuckDuckGo', 'search'],
    ['t.co', 'https://t.co/AbCd123', 'Twitter', 'social'],
    ['x.com', 'https://x.com/someone/status/1', 'Twitter', 'social'],
    ['m.facebook.com', 'https://m.facebook.com/', 'Facebook', 'social'],
    ['l.facebook.com', 'https://l.facebook.com/l.php?u=x', 'Facebook', 'social'],
    ['news.ycombinator.com', 'https://news.ycombinator.com/item?id=1', 'Hacker News', 'social'],
    ['www.reddit.com', 'https://www.reddit.com/r/webdev/', 'Reddit', 'social'],
    ['old.reddit.com', 'https://old.reddit.com/', 'Reddit', 'social'],
    ['mail.google.com', 'https://mail.google.com/mail/u/0/', 'Gmail', 'email'],
    ['unknown host', 'https://some-blog.org/post/1', 'some-blog.org', 'referral'],
    ['unknown host with www', 'https://www.some-blog.org/', 'some-blog.org', 'referral'],
    ['unknown subdomain is kept', 'https://dev.some-blog.org/', 'dev.some-blog.org', 'referral'],
    ['subdomain of the site itself', 'https://blog.example.com/', 'blog.example.com', 'referral'],
    ['IP address', 'http://192.0.2.10:8080/x', '192.0.2.10', 'referral'],
  ])('%s', (_label, referrer, source, channel) => {
    const result = classify({ referrer })
    expect({ source: result.source, channel: result.channel }).toEqual({ source, channel })
  })

  it('treats a non-www referrer on a www page as self', () => {
    expect(classify({ referrer: 'https://example.com/', pageHost: 'www.example.com' }).source).toBe(
      'Direct',
    )
  })

  it('treats the configured site domain as self even on another page host', () => {
    const result = classify({
      referrer: 'https://www.example.com/cart',
      pageHost: 'shop.example.com',
      siteDomain: 'example.com',
    })
    expect(result).toMatchObject({ source: 'Direct', channel: 'direct' })
  })

  it('passes empty UTM fields through', () => {
    expect(classify({ referrer: 'https://www.bing.com/' })).toEqual({
      source: 'Bing',
      channel: 'search',
      utm_source: '',
      utm_medium: '',
      utm_campaign: '',
      utm_term: '',
      utm_content: '',
    })
  })
})

describe('classifyAcquisition: utm_source overrides the referrer', () => {
  it.each([
    // [label, referrer, utm_source, utm_medium, channel]
    ['email medium', '', 'newsletter', 'email', 'email'],
    ['e-mail medium', '', 'newsletter', 'e-mail', 'email'],
    ['medium compared case-insensitively', '', 'newsletter', 'Email', 'email'],
    ['cpc medium beats a google referrer', 'https://www.google.com/', 'google', 'cpc', 'search'],
    ['ppc medium', '', 'bing', 'ppc', 'search'],
    ['social medium', 'https://t.co/x', 'twitter', 'social', 'social'],
    ['unknown medium kept as given', '', 'partner', 'affiliate', 'affiliate'],
    ['no medium: channel of a known referrer', 'https://www.google.com/', 'google', '', 'search'],
    ['no medium: unknown referrer', 'https://some-blog.org/', 'blog', '', 'referral'],
    ['no medium, no referrer', '', 'qr-code', '', 'referral'],
    ['no medium, self referrer', 'https://example.com/', 'qr-code', '', 'referral'],
  ])('%s', (_label, referrer, utm_source, utm_medium, channel) => {
    const result = classify({
      referrer,
      utm_source,
      utm_medium,
      utm_campaign: 'spring',
      utm_term: 'shoes',
      utm_content: 'banner',
    })
    expect(result).toEqual({
      source: utm_source,
      channel,
      utm_source,
      utm_medium,
      utm_campaign: 'spring',
      utm_term: 'shoes',
      utm_content: 'banner',
    })
  })

  it('ignores utm_medium without utm_source', () => {
    expect(classify({ referrer: 'https://www.google.com/', utm_medium: 'cpc' })).toEqual({
      source: 'Google',
      channel: 'search',
      utm_source: '',
      utm_medium: 'cpc',
      utm_campaign: '',
      utm_term: '',
      utm_content: '',
    })
  })
})

describe('bareHost', () => {
  it.each([
    ['www.example.com', 'example.com'],
    ['WWW2.Example.com', 'example.com'],
    ['m.facebook.com', 'facebook.com'],
    ['mobile.twitter.com', 'twitter.com'],
    ['lm.facebook.com', 'facebook.com'],
    ['blog.example.com', 'blog.example.com'],
    ['example.com', 'example.com'],
  ])('%s → %s', (host, expected) => {
    expect(bareHost(host)).toBe(expected)
  })
})

describe("referrerHost: the session's referrer", () => {
  const input = (referrer: string, overrides: Partial<ReferrerInput> = {}): ReferrerInput => ({
    referrer,
    pageHost: 'www.example.com',
    siteDomain: 'example.com',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    ...overrides,
  })
  it.each([
    ['a search engine, www kept', 'https://www.Google.com/search?q=x', 'www.google.com'],
    ['a forum thread', 'https://news.ycombinator.com/item?id=1', 'news.ycombinator.com'],
    ['no referrer', '', ''],
    ['a self-referral', 'https://example.com/pricing', ''],
    ['not http(s)', 'android-app://com.slack', ''],
    ['not a URL', 'nonsense', ''],
  ])('%s', (_label, referrer, host) => {
    expect(referrerHost(input(referrer))).toBe(host)
  })
  it('keeps the host under a campaign: the source says utm, the referrer where the click was', () => {
    expect(referrerHost(input('https://t.co/x', { utm_source: 'spring' }))).toBe('t.co')
  })
})
