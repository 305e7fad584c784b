/**
 * Builds the server that `npm start` runs: src/entry/node.ts bundled into
 * dist/server/node.mjs and its worker threads into dist/server/*-worker.mjs (our code in
 * ES modules; packages stay in node_modules). Running
 * plain JavaScript skips tsx's loader thread and on-the-fly compiling at start-up, and the
 * memory both hold for as long as the server runs.
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
  // The worker modules are loaded by URL next to the server bundle (threaded-pipeline.ts).
  entryPoints: {
    node: 'src/entry/node.ts',
    'accept-worker': 'src/entry/embedded/accept-worker.ts',
    'rollup-worker': 'src/entry/embedded/rollup-worker.ts',
  },
  outdir: 'dist/server',
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  ...SERVER_BUNDLE,
})
