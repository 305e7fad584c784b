import { describe, expect, it } from 'vitest'
import { LiveView } from './live-view.ts'
import { LiveWindow } from './live-window.ts'

const T0 = Date.UTC(2026, 0, 15, 10)

function event(site_id: string, visitor_id: string) {
  return {
    site_id,
    session_id: `s-${visitor_id}`,
    visitor_id,
    timestamp: T0,
    event_type: 'page_view',
    path: '/',
    title: '',
    source: 'Direct',
    country: 'DE',
    device: 'desktop',
    browser: 'Firefox',
  }
}

describe('LiveView', () => {
  it('reads snapshots through its reader, site by site', async () => {
    const window = new LiveWindow(() => T0)
    window.add([event('site-a', 'v1'), event('site-a', 'v2'), event('site-b', 'v3')])
    const asked: string[] = []
    const live = new LiveView(async (siteId) => {
      asked.push(siteId)
      return window.snapshot(siteId)
    })
    expect((await live.snapshot('site-a')).active_visitors).toBe(2)
    expect((await live.snapshot('site-b')).active_visitors).toBe(1)
    expect(asked).toEqual(['site-a', 'site-b'])
  })

  it('signals only the subscribers of the site that changed, until they unsubscribe', () => {
    const live = new LiveView(() => Promise.reject(new Error('not read here')))
    const calls: string[] = []
    const stopA = live.subscribe('site-a', () => calls.push('a'))
    live.subscribe('site-b', () => calls.push('b'))
    live.subscribe('site-b', () => {
      throw new Error('a broken subscriber')
    })
    live.subscribe('site-b', () => calls.push('b2'))
    live.changed('site-a')
    live.changed('site-b')
    stopA()
    live.changed('site-a')
    live.changed('site-c')
    expect(calls).toEqual(['a', 'b', 'b2'])
  })

  it('aborts its closed signal on close, so open streams end', () => {
    const live = new LiveView(() => Promise.reject(new Error('not read here')))
    let ended = false
    live.closed.addEventListener('abort', () => {
      ended = true
    })
    expect(live.closed.aborted).toBe(false)
    live.close()
    expect(ended).toBe(true)
    expect(live.closed.aborted).toBe(true)
  })
})
