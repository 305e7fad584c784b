/**
 * Builds the browser tracker: bundles and minifies src/tracker/liveinsight.ts into
 * dist/liveinsight.js, then enforces its size budget (gzip level 9, as a CDN would serve it).
 *   npm run build:tracker
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export const TRACKER_BUDGET_BYTES = 1000

const root = fileURLToPath(new URL('..', import.meta.url))
const entry = fileURLToPath(new URL('../src/tracker/liveinsight.ts', import.meta.url))
const outfile = fileURLToPath(new URL('../dist/liveinsight.js', import.meta.url))

const result = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'iife',
  // Browsers from 2021 on: optional chaining and ??= ship as they are.
  target: ['chrome91', 'edge91', 'firefox90', 'safari15'],
  // The tracker's own tsconfig is strict for type checking; the output needs no "use strict".
  tsconfigRaw: {},
  legalComments: 'none',
  charset: 'utf8',
  write: false,
  logLevel: 'warning',
})
const output = result.outputFiles[0]
if (!output) throw new Error('esbuild produced no output')
const code = output.text
mkdirSync(dirname(outfile), { recursive: true })
writeFileSync(outfile, code)

const raw = Buffer.byteLength(code)
const gzipped = gzipSync(code, { level: 9 }).length
const where = relative(root, outfile)
if (gzipped > TRACKER_BUDGET_BYTES) {
  process.stderr.write(
    `build:tracker: ${where} is ${gzipped} bytes gzipped, over the budget of ` +
      `${TRACKER_BUDGET_BYTES} bytes (${raw} bytes raw). Make src/tracker/liveinsight.ts smaller.\n`,
  )
  process.exit(1)
}
process.stdout.write(
  `build:tracker: ${where} ${raw} bytes, ${gzipped} bytes gzipped (budget ${TRACKER_BUDGET_BYTES})\n`,
)
