import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SESSION_DIMENSIONS } from '../../core/rollup-deltas.ts'
import { seededRandom } from '../../core/seeded-random.ts'
import { COUNTER_NAMES } from '../../core/types.ts'
import { createLogger } from '../../log/logger.ts'
import { localTables } from '../../testing/dynamodb.ts'
import { DOCUMENT_COMMANDS, forwardingDocClient } from '../../testing/dynamodb-faults.ts'
import { makeSite } from '../../testing/fixtures.ts'
import { orderedRollupOptions, sqliteCounts } from '../../testing/rollup-reference.ts'
import { countsOf, rollupScenario, scenarioClients } from '../../testing/rollup-scenario.ts'
import type { AdversaryOptions } from './adversarial-delivery.ts'
import { createRollupHandler } from './rollup-handler.ts'
import { StreamPoller } from './stream-poller.ts'

/**
 * Many delivery schedules of one set of events, each held to the SQLite store's numbers: the
 * local event source mapping in its adversarial mode (random batch sizes, duplicates
 * delivered again later and cut anew, a batch run twice at once, up to ten batches of a shard
 * in flight and finishing in any order, several shards at once), with throttling,
 * transaction conflicts and answers lost after a write landed injected into the roll-up's
 * DynamoDB calls.
 *
 * `DELIVERY_RUNS=500` searches longer (bench/NOTES.md has the last long search);
 * `DELIVERY_SEED` replays the run a failure printed.
 */
const RUNS = Number(process.env.DELIVERY_RUNS ?? 6)
const SEED = process.env.DELIVERY_SEED ? Number(process.env.DELIVERY_SEED) : undefined
const logger = createLogger('silent')
const site = makeSite({ created_at: Date.UTC(2026, 0, 15) })
const NO_WAIT = { retries: 6, minTimeout: 1, maxTimeout: 4 }

type Counts = Awaited<ReturnType<typeof countsOf>>
/**
 * Counts with the visitors credited by session left out: which of a visitor's sessions on
 * two shards is counted first decides where that visitor-day is credited (README in
 * src/storage/dynamodb); the site's visitors and every other figure stay exact.
 */
function withoutVisitorCredit(counts: Counts) {
  const credited = new Set<string>([...SESSION_DIMENSIONS, 'entry_page'])
  // A row that held only a visitor's credit is no row once the credit is left out.
  const counted = (row: Counts['hours'][number]) => COUNTER_NAMES.some((name) => row[name] !== 0)
  return {
    ...counts,
    days: counts.days.map((rows) =>
      rows.map((r) => (credited.has(r.dim) ? { ...r, visitors: 0 } : r)).filter(counted),
    ),
    hours: counts.hours.map((r) => ({ ...r, visitors: 0 })).filter(counted),
  }
}

/** A transient DynamoDB fault: throttled, or a transaction another one held up. */
function transientFault(random: () => number): Error {
  const conflict = random() < 0.5
  const error = new Error(conflict ? 'Transaction cancelled' : 'Throughput exceeded')
  error.name = conflict ? 'TransactionCanceledException' : 'ProvisionedThroughputExceededException'
  Object.assign(error, {
    $fault: 'client',
    $metadata: {},
    ...(conflict ? { CancellationReasons: [{ Code: 'TransactionConflict' }] } : {}),
  })
  return error
}

const schedule = fc.record({
  scenario: fc.integer({ min: 1, max: 1_000_000 }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  batchSize: fc.integer({ min: 1, max: 25 }),
  duplicates: fc.double({ min: 0, max: 0.5, noNaN: true }),
  shards: fc.integer({ min: 1, max: 3 }),
  faults: fc.double({ min: 0, max: 0.15, noNaN: true }),
  overlaps: fc.double({ min: 0, max: 0.5, noNaN: true }),
  parallelization: fc.integer({ min: 1, max: 10 }),
})

describe('the roll-up under many delivery schedules', () => {
  it(
    'counts every event once, as the SQLite store counts them',
    async () => {
      await fc.assert(
        fc.asyncProperty(schedule, async (s) => {
          const { events, bots } = rollupScenario(s.scenario)
          const local = await localTables()
          const { doc: faulty, mock } = forwardingDocClient(local)
          try {
            const clean = local.store()
            await clean.createSite(site)
            // One event a request, one after another: the stream then holds them in this
            // order. Several items of one accept are written side by side, so their order on
            // the stream is the order the writes landed, and a visitor whose sessions reach
            // the roll-up out of time order has its visitor-day credited to the one counted
            // first (src/storage/dynamodb/README.md), as with two shards.
            for (const [i, event] of events.entries()) {
              await clean.accept([event], i === 0 ? bots : [])
            }
            // Faults before a call reaches DynamoDB, or after it landed with the answer lost.
            const random = seededRandom(s.seed ^ 0x5bd1e995)
            for (const Command of DOCUMENT_COMMANDS) {
              mock.on(Command as never).callsFake(async (input: any) => {
                const fault = random() < s.faults
                const before = random() < 0.5
                if (fault && before) throw transientFault(random)
                const answer = await local.clients.doc.send(new Command(input) as never)
                if (fault) throw transientFault(random)
                return answer
              })
            }
            const store = local.store({ doc: faulty, backoff: NO_WAIT })
            const handler = createRollupHandler(store, orderedRollupOptions(), logger, {
              retry: NO_WAIT,
            })
            const adversary: AdversaryOptions = {
              seed: s.seed,
              duplicates: s.duplicates,
              shards: s.shards,
              overlaps: s.overlaps,
              parallelization: s.parallelization,
            }
            const poller = new StreamPoller(local.backlog(), clean, handler, logger, {
              batchSize: s.batchSize,
              // Transient faults only: no record may be given up on.
              maxRetries: 1000,
              adversary,
            })
            await poller.settle()
            mock.restore()
            const counts = await countsOf(clean, scenarioClients(events))
            const expected = await sqliteCounts(site, events, bots)
            expect(counts.days[0]?.[0]).toEqual(expected.days[0]?.[0])
            if (s.shards === 1 && s.parallelization === 1) expect(counts).toEqual(expected)
            else expect(withoutVisitorCredit(counts)).toEqual(withoutVisitorCredit(expected))
          } finally {
            mock.restore()
            await local.drop()
          }
        }),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
      )
    },
    Math.max(120_000, RUNS * 20_000),
  )
})
