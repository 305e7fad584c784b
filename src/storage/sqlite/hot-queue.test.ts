import { describe, expect, it } from 'vitest'
import { HotQueue } from './hot-queue.ts'
import { packBatch, type QueuedEntry } from './packed-item.ts'

const entries = (from: number, to: number): QueuedEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    item: { kind: 'bot', hit: { site_id: 's', timezone: 'UTC', timestamp: from + i } },
  }))
const seqs = (taken: QueuedEntry[] | null) => taken?.map((e) => e.seq) ?? null

describe('HotQueue', () => {
  it('hands out entries in slices from the queue head, each once', () => {
    const hot = new HotQueue()
    hot.push(entries(5, 7))
    hot.push(entries(8, 9))
    expect(seqs(hot.take(5, 3))).toEqual([5, 6, 7])
    expect(seqs(hot.take(8, 10))).toEqual([8, 9])
    expect(hot.size).toBe(0)
    expect(hot.take(10, 10)).toBeNull()
  })

  it('drops entries the table path already rolled up and goes on from the head', () => {
    const hot = new HotQueue()
    hot.push(entries(1, 6))
    expect(seqs(hot.take(4, 10))).toEqual([4, 5, 6])
  })

  it('refuses when memory does not start at the head: the table must be read', () => {
    const hot = new HotQueue()
    hot.push(entries(10, 12))
    // Seqs 8 and 9 were accepted but never handed over (say, a thread restarted).
    expect(hot.take(8, 10)).toBeNull()
    // The table path rolls up 8 and 9; memory is used again from 10.
    expect(seqs(hot.take(10, 10))).toEqual([10, 11, 12])
  })

  it('leaves entries after a missed handover to the table, and resumes once drained', () => {
    const hot = new HotQueue()
    hot.push(entries(1, 3))
    hot.push(entries(6, 7)) // 4 and 5 never arrived: 6 and 7 are left to the table path
    expect(seqs(hot.take(1, 10))).toEqual([1, 2, 3])
    expect(hot.take(4, 10)).toBeNull()
    hot.push(entries(8, 9))
    // Once the table path has rolled up 4 to 7, memory is used again from 8.
    expect(seqs(hot.take(8, 10))).toEqual([8, 9])
  })

  it('holds no more than its capacity, and an empty queue clears it', () => {
    const hot = new HotQueue(4)
    expect(hot.push(entries(1, 3))).toBe('held')
    expect(hot.push(entries(4, 6))).toBe('full')
    expect(hot.push(entries(7, 8))).toBe('gap') // would leave a gap after 3
    expect(hot.size).toBe(3)
    expect(seqs(hot.take(1, 10))).toEqual([1, 2, 3])
    expect(hot.push(entries(9, 10))).toBe('held')
    expect(hot.size).toBe(2)
    expect(hot.take(null, 10)).toBeNull()
    expect(hot.size).toBe(0)
  })

  it('takes packed commits across slices, part of a commit at a time', () => {
    const hot = new HotQueue()
    const chunk = (from: number, to: number) => packBatch(entries(from, to)) ?? expect.fail()
    hot.pushChunk(chunk(1, 4))
    hot.pushChunk(chunk(5, 6))
    hot.pushChunk(chunk(9, 10)) // 7 and 8 never arrived: left to the table path
    expect(hot.size).toBe(6)
    expect(hot.take(1, 3)).toEqual(entries(1, 3))
    expect(seqs(hot.take(4, 2))).toEqual([4, 5])
    expect(seqs(hot.take(6, 10))).toEqual([6])
    expect(hot.take(7, 10)).toBeNull()
    // The table path rolled up part of a commit held in memory: memory goes on from the head.
    hot.pushChunk(chunk(7, 9))
    expect(seqs(hot.take(8, 10))).toEqual([8, 9])
  })
})
