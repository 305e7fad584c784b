import { describe, expect, it } from 'vitest'
import { type ParsedUserAgent, parseUserAgent } from './user-agent.ts'

const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  safariIpad:
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  chromeAndroid:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  firefoxMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  headlessChrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36',
  curl: 'curl/8.4.0',
}

describe('parseUserAgent', () => {
  it.each<[string, string, ParsedUserAgent]>([
    [
      'Chrome on Windows',
      UA.chromeWindows,
      { browser: 'Chrome', os: 'Windows', device: 'desktop', bot: false },
    ],
    [
      'Safari on iPhone',
      UA.safariIphone,
      { browser: 'Mobile Safari', os: 'iOS', device: 'mobile', bot: false },
    ],
    [
      'Safari on iPad',
      UA.safariIpad,
      { browser: 'Mobile Safari', os: 'iOS', device: 'tablet', bot: false },
    ],
    [
      'Chrome on Android',
      UA.chromeAndroid,
      { browser: 'Chrome', os: 'Android', device: 'mobile', bot: false },
    ],
    [
      'Firefox on macOS',
      UA.firefoxMac,
      { browser: 'Firefox', os: 'Mac OS', device: 'desktop', bot: false },
    ],
  ])('%s', (_label, userAgent, expected) => {
    expect(parseUserAgent(userAgent)).toEqual(expected)
  })

  it.each([
    ['Googlebot', UA.googlebot],
    ['HeadlessChrome', UA.headlessChrome],
    ['curl', UA.curl],
    ['an empty string', ''],
    ['only whitespace', '   '],
  ])('flags %s as a bot', (_label, userAgent) => {
    expect(parseUserAgent(userAgent).bot).toBe(true)
  })

  it('gives an empty user agent no browser, os or device', () => {
    expect(parseUserAgent('')).toEqual({ browser: '', os: '', device: '', bot: true })
  })

  it('returns the same result for a repeated user agent', () => {
    const first = parseUserAgent(UA.firefoxMac)
    const second = parseUserAgent(UA.firefoxMac)
    expect(second).toBe(first)
    expect(second).toEqual({ browser: 'Firefox', os: 'Mac OS', device: 'desktop', bot: false })
  })

  it('stays correct after the bounded cache has been flushed by many other agents', () => {
    const first = parseUserAgent(UA.safariIpad)
    for (let i = 0; i < 2500; i++) {
      parseUserAgent(`Mozilla/5.0 (X11; Linux x86_64; rv:${i}.0) Gecko/20100101 Firefox/${i}.0`)
    }
    const again = parseUserAgent(UA.safariIpad)
    // Recomputed (the cache was cleared), yet equal.
    expect(again).not.toBe(first)
    expect(again).toEqual({ browser: 'Mobile Safari', os: 'iOS', device: 'tablet', bot: false })
  })
})
