import type { Context } from 'hono'
import { describe, expect, it } from 'vitest'
import { clientIp, isHttps, viewerCountry } from './client-ip.ts'

const context = (headers: Record<string, string>) =>
  ({ req: { header: (name: string) => headers[name.toLowerCase()] } }) as unknown as Context
const SOCKET = '203.0.113.9'
const ip = (trustProxy: number, forwardedFor?: string) =>
  clientIp(context(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }), {
    trustProxy,
    socketAddress: () => SOCKET,
  })

describe('clientIp counts trusted proxies from the right of X-Forwarded-For', () => {
  it('takes the socket address when no proxy is trusted, whatever the header says', () => {
    expect(ip(0, '198.51.100.1')).toBe(SOCKET)
    expect(ip(0)).toBe(SOCKET)
  })

  it('with one proxy takes the entry it appended, not what the client put before it', () => {
    expect(ip(1, '198.51.100.1')).toBe('198.51.100.1')
    expect(ip(1, 'spoofed, 198.51.100.1')).toBe('198.51.100.1')
    expect(ip(1, '1.1.1.1, 2.2.2.2,198.51.100.1 ')).toBe('198.51.100.1')
  })

  it('with two proxies takes the entry the farther one appended', () => {
    expect(ip(2, 'spoofed, 198.51.100.1, 10.0.0.2')).toBe('198.51.100.1')
    expect(ip(2, '198.51.100.1, 10.0.0.2')).toBe('198.51.100.1')
  })

  it('with fewer entries than proxies takes the leftmost, as Express does', () => {
    expect(ip(3, '198.51.100.1, 10.0.0.2')).toBe('198.51.100.1')
    expect(ip(2, '198.51.100.1')).toBe('198.51.100.1')
  })

  it('takes the socket address when the header is missing or empty', () => {
    expect(ip(1)).toBe(SOCKET)
    expect(ip(1, ' , ')).toBe(SOCKET)
  })
})

describe('clientIp reads an address as proxies write it', () => {
  it.each([
    ['192.0.2.1:1234', '192.0.2.1'],
    ['192.0.2.1:80', '192.0.2.1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::2]:443', '2001:db8::2'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['[::ffff:192.0.2.1]:8080', '192.0.2.1'],
    ['unknown', 'unknown'],
  ])('takes %s as %s', (forwarded, address) => {
    expect(ip(1, forwarded)).toBe(address)
  })
})

describe('clientIp behind CloudFront with CLIENT_ADDRESS_HEADER (a Lambda function URL)', () => {
  const viewer = (trustProxy: number, headers: Record<string, string>) =>
    clientIp(context(headers), {
      trustProxy,
      clientAddressHeader: 'cloudfront-viewer-address',
      socketAddress: () => SOCKET,
    })
  it.each([
    ['198.51.100.7:46532', '198.51.100.7'],
    ['2001:db8::7:46532', '2001:db8::7'],
    ['2001:DB8:0:0:0:0:0:7:443', '2001:db8:0:0:0:0:0:7'],
    ['::ffff:198.51.100.7:80', '198.51.100.7'],
  ])('takes the viewer address %s as %s, whatever X-Forwarded-For says', (header, address) => {
    expect(
      viewer(1, {
        'cloudfront-viewer-address': header,
        'x-forwarded-for': 'spoofed, 130.176.1.10',
      }),
    ).toBe(address)
  })

  it('falls back to X-Forwarded-For when the header is missing or not an address', () => {
    expect(viewer(1, { 'x-forwarded-for': '198.51.100.1' })).toBe('198.51.100.1')
    expect(
      viewer(1, { 'cloudfront-viewer-address': 'garbage', 'x-forwarded-for': '198.51.100.1' }),
    ).toBe('198.51.100.1')
    expect(viewer(1, { 'cloudfront-viewer-address': '198.51.100.7' })).toBe(SOCKET)
  })

  it('is believed only behind a trusted proxy', () => {
    expect(viewer(0, { 'cloudfront-viewer-address': '198.51.100.7:1' })).toBe(SOCKET)
  })
})

describe('viewerCountry', () => {
  const c = context({ 'cloudfront-viewer-country': 'de' })
  it('is believed only behind a trusted proxy', () => {
    expect(viewerCountry(c, { trustProxy: 0 })).toBe('')
    expect(viewerCountry(c, { trustProxy: 1 })).toBe('DE')
  })
})

describe('isHttps', () => {
  const onSocket = (encrypted: boolean, url: string, headers: Record<string, string> = {}) =>
    ({
      env: { incoming: { socket: { encrypted } } },
      req: { url, header: (name: string) => headers[name.toLowerCase()] },
    }) as unknown as Context

  it('asks the socket, not a URL the client wrote', () => {
    expect(isHttps(onSocket(true, 'https://a.example/'), { trustProxy: 0 })).toBe(true)
    expect(isHttps(onSocket(false, 'https://a.example/'), { trustProxy: 0 })).toBe(false)
  })

  it('believes X-Forwarded-Proto only from a trusted proxy, counted from the right', () => {
    const forwarded = (proto: string) =>
      onSocket(false, 'http://a.example/', { 'x-forwarded-proto': proto })
    expect(isHttps(forwarded('https'), { trustProxy: 0 })).toBe(false)
    expect(isHttps(forwarded('https'), { trustProxy: 1 })).toBe(true)
    expect(isHttps(forwarded('https, http'), { trustProxy: 1 })).toBe(false)
    expect(isHttps(forwarded('https, http'), { trustProxy: 2 })).toBe(true)
  })

  it('takes the URL where there is no Node socket (Lambda, app.request)', () => {
    const c = { req: { url: 'https://a.example/', header: () => undefined } } as unknown as Context
    expect(isHttps(c, { trustProxy: 0 })).toBe(true)
  })
})
