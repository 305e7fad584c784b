import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtTrackerScript } from '../src/entry/tracker-script.ts'
import { etagMatches, trackerRoutes } from '../src/http/routes/tracker.ts'
import { tempDir } from '../src/testing/temp-dir.ts'

describe('GET /liveinsight.js without a build', () => {
  it('answers 503 with the error envelope saying how to build it', async () => {
    const res = await trackerRoutes({ trackerScript: () => undefined }).request('/')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'error',
      message: 'tracker not built: run `npm run build:tracker`',
    })
  })

  it('serves the script once it is built, without a restart', async () => {
    const dir = tempDir()
    try {
      const file = join(dir.path, 'liveinsight.js')
      const app = trackerRoutes({ trackerScript: builtTrackerScript(file) })
      expect((await app.request('/')).status).toBe(503)
      writeFileSync(file, '(()=>{})();')
      const res = await app.request('/')
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('(()=>{})();')
      // Read once: a later change on disk is not picked up until the next start.
      writeFileSync(file, '(()=>{1})();')
      expect(await (await app.request('/')).text()).toBe('(()=>{})();')
    } finally {
      dir.remove()
    }
  })

  it('gives a new ETag to new content', async () => {
    let script = 'a()'
    const app = trackerRoutes({ trackerScript: () => script })
    const first = (await app.request('/')).headers.get('etag')
    script = 'b()'
    const second = (await app.request('/')).headers.get('etag')
    expect(first).toMatch(/^"[\w-]{27}"$/)
    expect(second).not.toBe(first)
    expect((await app.request('/', { headers: { 'if-none-match': first ?? '' } })).status).toBe(200)
  })
})

describe('etagMatches', () => {
  it('compares weakly, in lists, and takes *', () => {
    expect(etagMatches(undefined, '"a"')).toBe(false)
    expect(etagMatches('"a"', '"a"')).toBe(true)
    expect(etagMatches('W/"a"', '"a"')).toBe(true)
    expect(etagMatches('"a"', 'W/"a"')).toBe(true)
    expect(etagMatches('"x", W/"a"', '"a"')).toBe(true)
    expect(etagMatches('*', '"a"')).toBe(true)
    expect(etagMatches('"b"', '"a"')).toBe(false)
    expect(etagMatches('a', '"a"')).toBe(false)
  })
})
