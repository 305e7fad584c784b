import { describe, expect, it } from 'vitest'
import { LiveView } from '../live/live-view.ts'
import { LiveWindow } from '../live/live-window.ts'
import { HttpError } from './envelope.ts'
import { liveSnapshot } from './live-snapshot.ts'

describe('liveSnapshot', () => {
  it("answers the view's snapshot", async () => {
    const window = new LiveWindow(() => Date.UTC(2026, 0, 15, 10))
    const live = new LiveView(async (siteId) => window.snapshot(siteId))
    expect(await liveSnapshot(live, 'site-a')).toMatchObject({ active_visitors: 0 })
  })

  it('turns a window that cannot be read (its thread restarting) into a 503 to retry', async () => {
    const live = new LiveView(() => Promise.reject(new Error('accept worker is restarting')))
    const refused = await liveSnapshot(live, 'site-a').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(HttpError)
    expect(refused).toMatchObject({
      status: 503,
      message: 'the live view is restarting; retry',
      headers: { 'Retry-After': '1' },
    })
  })
})
