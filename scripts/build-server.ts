/**
 * Builds the server that `npm start` runs: src/entry/node.ts bundled into
 * dist/server/node.mjs, its worker threads into dist/server/*-worker.mjs and the store they
 * open into dist/server/open-store.mjs (our code in ES modules; packages stay in
 * node_modules). Running plain JavaScript skips tsx's loader thread and on-the-fly compiling
 * at start-up, and the memory both hold for as long as the server runs.
 *   npm run build:server
 */
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { SERVER_BUNDLE } from './server-bundle.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

// Workers of an earlier layout must not linger beside the new bundle.
rmSync(new URL('../dist/server', import.meta.url), { recursive: true, force: true })

await build({
  absWorkingDir: root,
  // Loaded by URL next to the server bundle: the workers (threaded-pipeline.ts, scan-pool.ts), and the
  // store module the workers import (entry/embedded.ts passes its URL to them).
  entryPoints: {
    node: 'src/entry/node.ts',
    'accept-worker': 'src/pipeline/threaded/accept-worker.ts',
    'rollup-worker': 'src/pipeline/threaded/rollup-worker.ts',
    // The record's scan workers (record/scan-pool.ts).
    'scan-worker': 'src/record/scan-worker.ts',
    'open-store': 'src/entry/open-store.ts',
  },
  outdir: 'dist/server',
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  ...SERVER_BUNDLE,
})
