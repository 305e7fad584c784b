import type { Store } from '../../storage/store.ts'

/**
 * How a worker opens a connection of its own to the backend `entry/` chose: `module` is the
 * URL of a module exporting a `StoreFactory` as `openStore`, and `options` what it is called
 * with (plain data: it crosses to the thread in workerData). The pipeline loads the module
 * by URL, so it never names a backend.
 */
export interface StoreModule {
  module: string
  options: unknown
}

/** What a store module exports as `openStore`. */
export type StoreFactory<Options> = (options: Options) => Store

/** Opens the store a StoreModule names. */
export async function openStoreModule(spec: StoreModule): Promise<Store> {
  const loaded = (await import(spec.module)) as { openStore?: StoreFactory<unknown> }
  if (typeof loaded.openStore !== 'function') {
    throw new Error(`${spec.module} exports no openStore`)
  }
  return loaded.openStore(spec.options)
}
