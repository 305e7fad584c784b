import { describe, expect, it } from 'vitest'
import { normalizePageUrl, unifyTrailingSlash } from './page-url.ts'

describe('normalizePageUrl', () => {
  it.each([
    // [label, input, url, host, path]
    [
      'lower-cases the host, keeps path case',
      'https://WWW.Example.COM/About',
      'https://www.example.com/About',
      'www.example.com',
      '/About',
    ],
    [
      'drops the fragment',
      'https://example.com/docs#install',
      'https://example.com/docs',
      'example.com',
      '/docs',
    ],
    [
      'drops a non-UTM query',
      'https://example.com/search?q=shoes&page=2',
      'https://example.com/search',
      'example.com',
      '/search',
    ],
    [
      'unifies a trailing slash',
      'https://example.com/blog/',
      'https://example.com/blog',
      'example.com',
      '/blog',
    ],
    [
      'unifies repeated trailing slashes',
      'https://example.com/blog//',
      'https://example.com/blog',
      'example.com',
      '/blog',
    ],
    ['keeps the root as "/"', 'https://example.com/', 'https://example.com/', 'example.com', '/'],
    [
      'adds "/" to a bare origin',
      'https://example.com',
      'https://example.com/',
      'example.com',
      '/',
    ],
    [
      'turns "//" into the root',
      'https://example.com//',
      'https://example.com/',
      'example.com',
      '/',
    ],
    [
      'drops the default https port',
      'https://example.com:443/a',
      'https://example.com/a',
      'example.com',
      '/a',
    ],
    [
      'drops the default http port',
      'http://example.com:80/a',
      'http://example.com/a',
      'example.com',
      '/a',
    ],
    [
      'keeps a non-default port in the URL but not in host',
      'https://Example.com:8443/a/',
      'https://example.com:8443/a',
      'example.com',
      '/a',
    ],
    [
      'drops credentials',
      'https://user:secret@example.com/a',
      'https://example.com/a',
      'example.com',
      '/a',
    ],
  ])('%s', (_label, input, url, host, path) => {
    const page = normalizePageUrl(input)
    expect({ url: page.url, host: page.host, path: page.path }).toEqual({ url, host, path })
  })

  it('treats "/blog/" and "/blog" as the same page', () => {
    const a = normalizePageUrl('https://example.com/blog/')
    const b = normalizePageUrl('https://example.com/blog')
    expect(a).toEqual(b)
    expect(a.path).toBe('/blog')
  })

  it('keeps UTM parameters, drops the rest, and exposes each of the five', () => {
    const page = normalizePageUrl(
      'https://Shop.Example.com/landing/?ref=abc&utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=red+shoes&utm_content=hero%20banner#top',
    )
    expect(page).toEqual({
      url: 'https://shop.example.com/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=red+shoes&utm_content=hero+banner',
      host: 'shop.example.com',
      path: '/landing',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_campaign: 'spring',
      utm_term: 'red shoes',
      utm_content: 'hero banner',
    })
  })

  it('orders UTM parameters canonically and keeps utm_term and utm_content in the URL', () => {
    const page = normalizePageUrl(
      'https://example.com/p?utm_content=banner&utm_campaign=c1&utm_term=shoes&utm_source=ads',
    )
    expect(page.url).toBe(
      'https://example.com/p?utm_source=ads&utm_campaign=c1&utm_term=shoes&utm_content=banner',
    )
    expect([page.utm_source, page.utm_medium, page.utm_campaign]).toEqual(['ads', '', 'c1'])
  })

  it('drops empty UTM parameters', () => {
    const page = normalizePageUrl('https://example.com/?utm_source=&utm_medium=cpc')
    expect(page.url).toBe('https://example.com/?utm_medium=cpc')
    expect(page.utm_source).toBe('')
    expect(page.utm_medium).toBe('cpc')
  })

  it('trims UTM fields and clips them to 128 characters', () => {
    const long = 'x'.repeat(200)
    const page = normalizePageUrl(
      `https://example.com/?utm_source=%20newsletter%20&utm_campaign=${long}`,
    )
    expect(page.utm_source).toBe('newsletter')
    expect(page.utm_campaign).toHaveLength(128)
  })

  it('has no UTM fields when the URL carries none', () => {
    const page = normalizePageUrl('https://example.com/a?x=1')
    expect([page.utm_source, page.utm_medium, page.utm_campaign]).toEqual(['', '', ''])
  })
})

describe('unifyTrailingSlash', () => {
  it.each([
    ['/blog/', '/blog'],
    ['/blog', '/blog'],
    ['/a/b///', '/a/b'],
    ['/', '/'],
    ['//', '/'],
    ['', '/'],
  ])('%j → %j', (input, expected) => {
    expect(unifyTrailingSlash(input)).toBe(expected)
  })
})
