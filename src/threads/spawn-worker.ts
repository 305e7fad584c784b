import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type ResourceLimits, Worker } from 'node:worker_threads'

/** tsx's ESM API (its `import` entry; require.resolve would give the CommonJS one). */
function tsxApi(): string {
  const root = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
  return pathToFileURL(join(root, 'dist/esm/api/index.mjs')).href
}

/**
 * The module `name` next to the calling module, for a worker thread to load (a worker, or a
 * module a worker imports by URL): the .mjs built next to a bundle (dist/server), else the
 * .ts source (tsx, tests). A bundle builds each such module as an entry point of its own.
 */
export function workerModule(name: string, callerUrl: string): URL {
  return new URL(`./${name}.${callerUrl.endsWith('.ts') ? 'ts' : 'mjs'}`, callerUrl)
}

/**
 * Starts a worker module. A .ts module gets a small bootstrap that registers tsx's loader
 * inside the new thread first (Node 20 ignores --import in a worker's execArgv).
 */
export function spawnWorker(
  url: URL,
  workerData: unknown,
  resourceLimits: ResourceLimits = {},
): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData, resourceLimits })
  const bootstrap = `import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits })
}
