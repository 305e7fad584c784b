import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AttemptRecord, SignInAttempts } from '../../auth/sign-in-attempts.ts'
import { SignInThrottle } from '../../auth/sign-in-throttle.ts'

/**
 * What a SignInAttempts backend's test file hands the contract: fresh, empty state, and as
 * many views of it as a test asks for. Each `view()` stands for another process over the
 * same state (a DynamoDB backend: another client on the same table; memory: the one process
 * it serves, so the same table).
 */
export interface SignInAttemptsHarness {
  view: () => SignInAttempts
  cleanup: () => Promise<void>
}

const SEC = 1000
const MIN = 60 * SEC
/**
 * A minute ahead of the wall clock, not a fixed date: DynamoDB (Local too) deletes an item by
 * its TTL any time after the TTL passes, so a record whose time had passed in the real world
 * could vanish in the middle of a test.
 */
const NOW = (Math.floor(Date.now() / MIN) + 10) * MIN
const MINUTE = Math.floor(NOW / MIN)

const record = (failures: number, lockedUntil: number, expiresAt: number): AttemptRecord => ({
  failures,
  lockedUntil,
  expiresAt,
})

/**
 * The same behaviour from every backend: compare-and-set records that are forgotten at their
 * time, per-minute counts that add up under concurrency, and the throttle's rules over them
 * holding across processes.
 */
export function describeSignInAttemptsContract(
  name: string,
  fresh: () => Promise<SignInAttemptsHarness>,
) {
  describe(`SignInAttempts contract: ${name}`, () => {
    let harness: SignInAttemptsHarness
    let attempts: SignInAttempts
    beforeEach(async () => {
      harness = await fresh()
      attempts = harness.view()
    })
    afterEach(async () => {
      await harness.cleanup()
    })

    it('answers a record as written, and none for a key never written', async () => {
      expect(await attempts.get('addr:192.0.2.1', NOW)).toBeUndefined()
      const written = record(3, 0, NOW + 60 * MIN)
      expect(await attempts.put('addr:192.0.2.1', undefined, written, NOW)).toEqual({ ok: true })
      expect(await attempts.get('addr:192.0.2.1', NOW)).toEqual(written)
      // Another process reads the same.
      expect(await harness.view().get('addr:192.0.2.1', NOW + SEC)).toEqual(written)
      // Keys are apart.
      expect(await attempts.get('addr:192.0.2.2', NOW)).toBeUndefined()
      expect(await attempts.get('device:n1', NOW)).toBeUndefined()
    })

    it('writes only over the record it read: a stale read, or none where one exists, is refused', async () => {
      const key = 'device:n1'
      expect(await attempts.put(key, undefined, record(1, 0, NOW + MIN), NOW)).toEqual({ ok: true })
      expect(await attempts.put(key, undefined, record(1, 0, NOW + MIN), NOW)).toEqual({
        ok: false,
        changed: true,
      })
      const seen = await attempts.get(key, NOW)
      expect(await attempts.put(key, seen, record(2, 0, NOW + MIN), NOW)).toEqual({ ok: true })
      // `seen` is stale now, whoever wrote over it.
      expect(await attempts.put(key, seen, record(9, 0, NOW + MIN), NOW)).toEqual({
        ok: false,
        changed: true,
      })
      const other = harness.view()
      const again = await other.get(key, NOW)
      expect(again).toEqual(record(2, 0, NOW + MIN))
      expect(await other.put(key, again, record(3, 0, NOW + MIN), NOW)).toEqual({ ok: true })
      expect(await attempts.get(key, NOW)).toEqual(record(3, 0, NOW + MIN))
    })

    it('lets exactly one of 20 concurrent writes from the same read through', async () => {
      const key = 'addr:198.51.100.7'
      const first = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          harness.view().put(key, undefined, record(i + 1, 0, NOW + MIN), NOW),
        ),
      )
      expect(first.filter((r) => r.ok)).toHaveLength(1)
      expect(first.filter((r) => !r.ok && 'changed' in r)).toHaveLength(19)
      const winner = first.findIndex((r) => r.ok)
      expect(await attempts.get(key, NOW)).toEqual(record(winner + 1, 0, NOW + MIN))

      const views = Array.from({ length: 20 }, () => harness.view())
      const reads = await Promise.all(views.map((view) => view.get(key, NOW)))
      const second = await Promise.all(
        views.map((view, i) => view.put(key, reads[i], record(100 + i, 0, NOW + MIN), NOW)),
      )
      expect(second.filter((r) => r.ok)).toHaveLength(1)
      expect(await attempts.get(key, NOW)).toEqual(
        record(100 + second.findIndex((r) => r.ok), 0, NOW + MIN),
      )
    })

    it('forgets a record at its expiresAt, and a write over a forgotten one needs no read of it', async () => {
      const key = 'addr:203.0.113.9'
      await attempts.put(key, undefined, record(5, NOW + 30 * SEC, NOW + 30 * SEC), NOW)
      const late = await attempts.get(key, NOW + 30 * SEC - 1)
      expect(late).toEqual(record(5, NOW + 30 * SEC, NOW + 30 * SEC))
      expect(await attempts.get(key, NOW + 30 * SEC)).toBeUndefined()
      expect(await harness.view().get(key, NOW + 30 * SEC)).toBeUndefined()
      // A read from before it ended is stale once it has.
      expect(await attempts.put(key, late, record(6, 0, NOW + MIN), NOW + 30 * SEC)).toEqual({
        ok: false,
        changed: true,
      })
      expect(
        await attempts.put(key, undefined, record(1, 0, NOW + 2 * MIN), NOW + 30 * SEC),
      ).toEqual({ ok: true })
      expect(await attempts.get(key, NOW + MIN)).toEqual(record(1, 0, NOW + 2 * MIN))
    })

    it('forgets a deleted record; a write from a read before the delete is refused', async () => {
      const key = 'addr:192.0.2.50'
      await attempts.put(key, undefined, record(4, 0, NOW + 60 * MIN), NOW)
      const seen = await attempts.get(key, NOW)
      await harness.view().delete(key)
      expect(await attempts.get(key, NOW)).toBeUndefined()
      expect(await attempts.put(key, seen, record(5, 0, NOW + 60 * MIN), NOW)).toEqual({
        ok: false,
        changed: true,
      })
      // Deleting what is not there is no error.
      await attempts.delete('addr:never-written')
      expect(await attempts.put(key, undefined, record(1, 0, NOW + 60 * MIN), NOW)).toEqual({
        ok: true,
      })
    })

    it('counts untrusted failures per minute, a window both ends included, never below zero', async () => {
      for (let i = 0; i < 3; i++) await attempts.addFailures(MINUTE, 1)
      await harness.view().addFailures(MINUTE + 1, 1)
      await attempts.addFailures(MINUTE + 5, 1)
      expect(await attempts.failuresIn(MINUTE, MINUTE + 1)).toBe(4)
      expect(await attempts.failuresIn(MINUTE - 14, MINUTE)).toBe(3)
      expect(await harness.view().failuresIn(MINUTE, MINUTE + 5)).toBe(5)
      expect(await attempts.failuresIn(MINUTE + 2, MINUTE + 4)).toBe(0)
      await attempts.addFailures(MINUTE, -1)
      expect(await attempts.failuresIn(MINUTE, MINUTE)).toBe(2)
      // A give-back where none was counted takes nothing away from later failures.
      await attempts.addFailures(MINUTE + 10, -1)
      await attempts.addFailures(MINUTE + 10, 1)
      expect(await attempts.failuresIn(MINUTE + 10, MINUTE + 10)).toBe(1)
    })

    it('counts every one of 20 concurrent failures from several processes', async () => {
      await Promise.all(Array.from({ length: 20 }, () => harness.view().addFailures(MINUTE, 1)))
      expect(await attempts.failuresIn(MINUTE - 14, MINUTE)).toBe(20)
    })

    describe('under the throttle, across processes', () => {
      it('lets exactly five of 20 concurrent guesses from one address through two processes, and a third still refuses', async () => {
        const processes = [
          new SignInThrottle({ attempts }),
          new SignInThrottle({ attempts: harness.view() }),
        ]
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            processes[i % 2]?.reserve({ address: '198.51.100.7' }, NOW),
          ),
        )
        expect(answers.filter((a) => a?.ok)).toHaveLength(5)
        const third = new SignInThrottle({ attempts: harness.view() })
        expect(await third.reserve({ address: '198.51.100.7' }, NOW + SEC)).toEqual({
          ok: false,
          retryAfterS: 59,
        })
        // Another address is not held back by it.
        expect((await third.reserve({ address: '198.51.100.8' }, NOW + SEC)).ok).toBe(true)
      })

      it('ends a wait at its time and forgets failures an hour after the last', async () => {
        const one = new SignInThrottle({ attempts })
        const two = new SignInThrottle({ attempts: harness.view() })
        const ip = { address: '192.0.2.77' }
        for (let i = 0; i < 5; i++) expect((await one.reserve(ip, NOW)).ok).toBe(true)
        expect(await two.reserve(ip, NOW + MIN - 1)).toEqual({ ok: false, retryAfterS: 1 })
        // The sixth failure, after the first wait: the next wait is two minutes.
        expect((await two.reserve(ip, NOW + MIN)).ok).toBe(true)
        expect(await one.reserve(ip, NOW + 2 * MIN)).toEqual({ ok: false, retryAfterS: 60 })
        // An hour after the last failure, five are free again.
        for (let i = 0; i < 5; i++) expect((await one.reserve(ip, NOW + 61 * MIN)).ok).toBe(true)
        expect((await two.reserve(ip, NOW + 61 * MIN)).ok).toBe(false)
      })

      it('slows every untrusted address once the failures of all processes add up to a spike', async () => {
        const options = { globalThreshold: 10 }
        const processes = [
          new SignInThrottle({ ...options, attempts }),
          new SignInThrottle({ ...options, attempts: harness.view() }),
        ]
        for (let i = 0; i < 10; i++) {
          expect((await processes[i % 2]?.reserve({ address: `203.0.113.${i}` }, NOW))?.ok).toBe(
            true,
          )
        }
        const third = new SignInThrottle({ ...options, attempts: harness.view() })
        expect(await third.reserve({ address: 'fresh' }, NOW + SEC)).toEqual({
          ok: false,
          retryAfterS: 9,
        })
        // A device cookie is not slowed by the spike.
        expect((await third.reserve({ address: 'fresh', device: 'n1' }, NOW + SEC)).ok).toBe(true)
      })
    })
  })
}
