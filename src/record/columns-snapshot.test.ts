import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DAY_MS } from '../core/calendar.ts'
import { buildStatsQuery, StatsParamsSchema } from '../core/stats-query.ts'
import { BASE, recordWorld } from '../testing/record-world.ts'
import { tempDir } from '../testing/temp-dir.ts'
import { columnarPart, Dictionaries } from './columnar-record.ts'
import { columnarReport } from './columnar-report.ts'
import { ColumnsSnapshots } from './columns-snapshot.ts'

const dirs: Array<ReturnType<typeof tempDir>> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove()
})

function saved() {
  const dir = tempDir()
  dirs.push(dir)
  const dicts = new Dictionaries('Europe/Berlin')
  const part = columnarPart(dicts, recordWorld(3, 10 * DAY_MS))
  const snapshots = new ColumnsSnapshots(join(dir.path, 'record-columns'))
  const snapshot = {
    siteId: 'a/site',
    timeZone: 'Europe/Berlin',
    identity: { rewrites: 2, nextOrd: 77 },
    lower: BASE - 10 * DAY_MS,
    upper: BASE,
    dicts,
    part,
  }
  return { dir: join(dir.path, 'record-columns'), snapshots, snapshot }
}

describe('ColumnsSnapshots', () => {
  it('reads back what it saved: the same reports, identity and span, owner-only', async () => {
    const { dir, snapshots, snapshot } = saved()
    await snapshots.save(snapshot)
    const back = await snapshots.load('a/site')
    expect(back).toMatchObject({
      siteId: 'a/site',
      timeZone: 'Europe/Berlin',
      identity: { rewrites: 2, nextOrd: 77 },
      lower: snapshot.lower,
      upper: snapshot.upper,
    })
    for (const params of [
      { period: '7d', filter: ['source:Google'] },
      { period: '30d', filter: ['page:/docs'], props: 'plan' },
    ]) {
      const query = buildStatsQuery(
        StatsParamsSchema.parse({ site: 'a/site', ...params }),
        'Europe/Berlin',
        BASE,
      )
      const input = { query, recordSince: null }
      expect(
        columnarReport({
          ...input,
          dicts: back?.dicts as Dictionaries,
          parts: [back?.part as never],
        }),
      ).toEqual(columnarReport({ ...input, dicts: snapshot.dicts, parts: [snapshot.part] }))
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, 'a%2Fsite.columns')).mode & 0o077).toBe(0)
    expect(await snapshots.load('other')).toBeNull()
  })

  it('refuses a file cut short or not its format, as if there were none', async () => {
    const { dir, snapshots, snapshot } = saved()
    await snapshots.save(snapshot)
    const file = join(dir, 'a%2Fsite.columns')
    const whole = readFileSync(file)
    truncateSync(file, whole.length - 100)
    expect(await snapshots.load('a/site')).toBeNull()
    writeFileSync(file, 'not a snapshot at all')
    expect(await snapshots.load('a/site')).toBeNull()
    // Saved for another site under this name (a file copied by hand): not this site's.
    await snapshots.save({ ...snapshot, siteId: 'b' })
    writeFileSync(file, readFileSync(join(dir, 'b.columns')))
    expect(await snapshots.load('a/site')).toBeNull()
  })
})
