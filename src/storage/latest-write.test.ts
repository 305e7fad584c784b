import { describe, expect, it } from 'vitest'
import { LatestWrite, latestWriteBuffer, WRITE_FAILURE_HOLDS_MS } from './latest-write.ts'
import { StorageUnavailableError } from './store.ts'

const full = () => Promise.reject(new StorageUnavailableError('storage unavailable (SQLITE_FULL)'))

describe('LatestWrite', () => {
  it('fails its check from a write failed for the storage until a write succeeds', async () => {
    const latest = new LatestWrite()
    expect(() => latest.check()).not.toThrow()
    await expect(latest.track(full)).rejects.toThrow('SQLITE_FULL')
    expect(() => latest.check()).toThrow(StorageUnavailableError)
    expect(() => latest.check()).toThrow(/the latest write failed, .*SQLITE_FULL/)
    expect(await latest.track(async () => 7)).toBe(7)
    expect(() => latest.check()).not.toThrow()
  })

  it('ignores failures that are not the storage’s', async () => {
    const latest = new LatestWrite()
    await expect(latest.track(() => Promise.reject(new Error('a bug')))).rejects.toThrow('a bug')
    expect(() => latest.check()).not.toThrow()
  })

  it('lets a failure go once nothing was written for WRITE_FAILURE_HOLDS_MS', async () => {
    let now = 1_000_000
    const latest = new LatestWrite(latestWriteBuffer(), () => now)
    await latest.track(full).catch(() => undefined)
    now += WRITE_FAILURE_HOLDS_MS
    expect(() => latest.check()).toThrow(StorageUnavailableError)
    now += 1
    expect(() => latest.check()).not.toThrow()
  })

  it('is one record for every holder of the same buffer (each thread its own)', async () => {
    const buffer = latestWriteBuffer()
    const writer = new LatestWrite(buffer)
    const reader = new LatestWrite(buffer)
    await writer.track(full).catch(() => undefined)
    expect(() => reader.check()).toThrow('SQLITE_FULL')
    await writer.track(async () => undefined)
    expect(() => reader.check()).not.toThrow()
  })

  it('keeps a long reason cut short, not spilling past its room', async () => {
    const latest = new LatestWrite()
    const long = 'é'.repeat(1000)
    await latest.track(() => Promise.reject(new StorageUnavailableError(long))).catch(() => {})
    expect(() => latest.check()).toThrow(/: é+$/)
  })
})
