import type { StoreFactory } from '../pipeline/threaded/store-module.ts'
import { SqliteStore, type SqliteStoreOptions } from '../storage/sqlite/sqlite-store.ts'

/**
 * The embedded shape's backend, for this thread (embedded.ts) and for each worker thread of
 * its pipeline, which loads this module by URL (pipeline/threaded/store-module.ts) so that
 * only `entry/` names a backend. Bundled as a module of its own next to the server
 * (scripts/build-server.ts): a worker's import by URL is not one esbuild can follow.
 */
export const openStore: StoreFactory<SqliteStoreOptions> = (options) => new SqliteStore(options)
