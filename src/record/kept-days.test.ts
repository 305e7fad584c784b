import { describe, expect, it } from 'vitest'
import { type ColumnarPart, columnarPart, Dictionaries } from './columnar-record.ts'
import { type KeptDay, KeptDays } from './kept-days.ts'

const day = (from: number, bytes = 100): KeptDay => ({ from, to: from + 10, bytes })

describe('KeptDays', () => {
  const parts = () => {
    const dicts = new Dictionaries('UTC')
    return [columnarPart(dicts, []), columnarPart(dicts, [])] as [ColumnarPart, ColumnarPart]
  }

  it('counts what it keeps, carries the unchanged days over, and lets the rest go', () => {
    const [old, next] = parts()
    const kept = new KeptDays<KeptDay>(() => Number.POSITIVE_INFINITY)
    const entry = kept.entryOf('site', old, 'source:Google')
    kept.keep(entry, 'a', day(0))
    kept.keep(entry, 'b', day(10))
    kept.keep(entry, 'c', day(20))
    expect(kept.bytes()).toBe(300)
    expect(kept.bytesOf('site')).toBe(300)
    // Extended: sessions changed from 20 on.
    kept.carry('site', next, { from: 0, to: 20 })
    expect([...kept.entryOf('site', next, 'source:Google').days.keys()]).toEqual(['a', 'b'])
    expect(kept.bytes()).toBe(200)
    // A query still holding the old part: its days are not kept.
    const stale = kept.entryOf('site', old, 'source:Google')
    kept.keep(stale, 'a', day(0))
    expect(kept.bytes()).toBe(200)
    kept.forget('site')
    expect(kept.bytes()).toBe(0)
  })

  it('lets go of an entry being built when its part is replaced, and of the least used past its room', () => {
    const [old, next] = parts()
    let room = Number.POSITIVE_INFINITY
    const kept = new KeptDays<KeptDay>(() => room)
    const building = kept.entryOf('site', old, 'page:/')
    building.building = Promise.resolve()
    kept.keep(building, 'a', day(0))
    kept.carry('site', next, { from: 0, to: 100 })
    // What the build finishes is for the old part: not counted, not found under the new one.
    kept.keep(building, 'b', day(10))
    expect(kept.bytes()).toBe(0)
    expect(kept.entryOf('site', next, 'page:/').days.size).toBe(0)
    const first = kept.entryOf('site', next, 'first')
    kept.keep(first, 'a', day(0))
    const second = kept.entryOf('site', next, 'second')
    kept.keep(second, 'a', day(0))
    kept.entryOf('site', next, 'first')
    room = 150
    kept.evict()
    expect(kept.bytes()).toBe(100)
    expect(kept.entryOf('site', next, 'first').days.size).toBe(1)
    expect(kept.entryOf('site', next, 'second').days.size).toBe(0)
  })
})
