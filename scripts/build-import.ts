/**
 * Builds what `npm run import` runs (its `preimport`): src/entry/import-history.ts bundled
 * into dist/import/import-history.mjs and its commit thread into
 * dist/import/commit-thread-worker.mjs, as build-server.ts builds the server. Under tsx, its
 * loader thread for each of the two threads and the compiled sources held about 110 MB more
 * at the peak of a 10 M-event import (bench/NOTES.md).
 *   tsx scripts/build-import.ts
 */
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { SERVER_BUNDLE } from './server-bundle.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

rmSync(new URL('../dist/import', import.meta.url), { recursive: true, force: true })

await build({
  absWorkingDir: root,
  // The commit thread is loaded by URL next to the bundle (commit-thread.ts).
  entryPoints: {
    'import-history': 'src/entry/import-history.ts',
    'commit-thread-worker': 'src/storage/sqlite/commit-thread-worker.ts',
  },
  outdir: 'dist/import',
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  ...SERVER_BUNDLE,
})
