import { join } from 'node:path'
import type { Config } from '../config/env.ts'
import { PlaceLookup } from '../geo/place-lookup.ts'
import { stdoutLogOutput } from '../log/log-output.ts'
import type { Logger } from '../log/logger.ts'
import { InProcessPipeline } from '../pipeline/in-process-pipeline.ts'
import type { Pipeline } from '../pipeline/pipeline.ts'
import { ThreadedPipeline } from '../pipeline/threaded/threaded-pipeline.ts'
import { ColumnsSnapshots } from '../record/columns-snapshot.ts'
import { type ColumnsStore, RecordColumns } from '../record/record-columns.ts'
import { ScanPool, scanThreads } from '../record/scan-pool.ts'
import { warmColumns } from '../record/warm-columns.ts'
import { latestWriteBuffer } from '../storage/latest-write.ts'
import type { SqliteStoreOptions } from '../storage/sqlite/sqlite-store.ts'
import { workerModule } from '../threads/spawn-worker.ts'
import { lockDataDir } from './data-lock.ts'
import { openStore } from './open-store.ts'
import { ownerOnlyDataDir } from './owner-only.ts'
import { type RunningService, startService } from './service.ts'

export { VERSION } from './service.ts'

export interface EmbeddedServer extends RunningService {
  databaseFile: string
}

/** The embedded shape: the HTTP app over SQLite in this process, plus the sweeper. */
export async function startEmbedded(
  config: Config,
  logger: Logger,
  options: {
    now?: () => number
    /**
     * `threads` (the default): the stages on worker threads, each with its own connection.
     * `in-process`: the same stages on this thread, over this process's connection.
     */
    pipeline?: 'threads' | 'in-process'
  } = {},
): Promise<EmbeddedServer> {
  // First: a city database that cannot be opened stops start-up before anything is held.
  const places = await PlaceLookup.open(
    config.GEO_CITY_DATABASE ? { cityDatabase: config.GEO_CITY_DATABASE } : {},
  )
  logger.info({ built: places.built }, 'geo databases')
  ownerOnlyDataDir(config.DATA_DIR, logger)
  // Before the database is opened: a second server must not touch it at all.
  const lock = lockDataDir(config.DATA_DIR, 'server')
  const databaseFile = join(config.DATA_DIR, 'liveinsight.db')
  const connection = {
    file: databaseFile,
    synchronous: config.SQLITE_SYNCHRONOUS,
    busyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS,
    maxPageCount: config.SQLITE_MAX_PAGE_COUNT,
    // The workers write, this thread answers /health: it must see their writes fail.
    latestWrite: latestWriteBuffer(),
  } satisfies SqliteStoreOptions
  // On the server clock, so the roll-up lag the routes report is measured on one clock when
  // this store accepts (the in-process pipeline); the worker threads' stores use real time.
  let store: ReturnType<typeof openStore>
  try {
    store = openStore({ ...connection, ...(options.now ? { now: options.now } : {}) })
  } catch (error) {
    // A database this release refuses (a newer release's, read-only): the folder stays free.
    lock.release()
    throw error
  }
  const sessionTimeoutMs = config.SESSION_TIMEOUT_MINUTES * 60_000
  // The same factory, loaded by each worker thread next to this module (bundled or not).
  const storeModule = workerModule('open-store', import.meta.url).href
  const pipeline: Pipeline =
    options.pipeline === 'in-process'
      ? new InProcessPipeline(store, {
          sessionTimeoutMs,
          logger,
          liveBudgetEntries: config.LIVE_BUDGET_ENTRIES,
        })
      : new ThreadedPipeline(
          {
            stores: {
              accept: { module: storeModule, options: connection },
              // Commits without waiting for the disk (synchronous NORMAL; WAL keeps each commit
              // atomic). Its transaction both writes the counters and retires their queue
              // entries, so one lost to a power cut is simply rolled up again from the queue,
              // which the accept worker's fsync had made durable; and each accept's fsync also
              // makes every earlier roll-up commit durable.
              rollup: {
                module: storeModule,
                options: { ...connection, synchronous: 'NORMAL' } satisfies SqliteStoreOptions,
              },
            },
            sessionTimeoutMs,
            logLevel: config.LOG_LEVEL,
            logOutput: stdoutLogOutput(config.LOG_FORMAT),
            liveBudgetEntries: config.LIVE_BUDGET_ENTRIES,
          },
          logger,
        )
  // Filtered stats from the record's closed days in memory, the open tail from SQLite.
  // Asked of the store rather than by class: open-store.ts is bundled apart (see there).
  const hasColumns = typeof (store as Partial<ColumnsStore>).recordGeneration === 'function'
  const threads = scanThreads(config.RECORD_SCAN_THREADS)
  const scanPool = hasColumns && threads > 0 ? new ScanPool({ threads, logger }) : null
  const recordColumns = hasColumns
    ? new RecordColumns(store as typeof store & ColumnsStore, {
        maxBytes: config.RECORD_MEMORY_MB * 1024 * 1024,
        // Saved beside the database, so a restart reads them back instead of the store.
        snapshots: new ColumnsSnapshots(join(config.DATA_DIR, 'record-columns')),
        sessionTimeoutMs,
        now: options.now ?? Date.now,
        logger,
        ...(scanPool ? { scanPool } : {}),
      })
    : null
  let service: RunningService
  try {
    service = await startService(
      config,
      logger,
      {
        store,
        pipeline,
        livePush: true,
        countryOf: (address) => places.country(address),
        ...(recordColumns
          ? {
              recordReport: (query) => recordColumns.report(query),
              recordProperties: (query) => recordColumns.properties(query),
            }
          : {}),
      },
      options.now ? { now: options.now } : {},
    )
  } catch (error) {
    // Not started (the port taken, say): the folder is free for the next try.
    await scanPool?.close()
    lock.release()
    throw error
  }
  let closing = false
  if (recordColumns) {
    void warmColumns(
      () => store.listSites(),
      recordColumns,
      options.now ?? Date.now,
      () => closing,
      logger,
    )
  }
  return {
    ...service,
    databaseFile,
    close: async () => {
      closing = true
      await service.close()
      // A save of the record's columns under way finishes (a cut one leaves the last copy).
      await recordColumns?.whenSaved()
      await scanPool?.close()
      lock.release()
    },
  }
}
