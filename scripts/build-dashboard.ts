/**
 * Builds what the dashboard serves from this origin (no CDN): the Tailwind stylesheet,
 * the vendored htmx and Chart.js files, and the small client scripts. Output goes to dist/.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
// Some of these packages export no file paths, so files are read from node_modules directly.
const modules = join(root, 'node_modules')
mkdirSync(join(dist, 'vendor'), { recursive: true })

// The CLI scans the @source folders for class names, so only used utilities are emitted.
execFileSync(
  process.execPath,
  [
    join(modules, '@tailwindcss/cli/dist/index.mjs'),
    '--input',
    join(root, 'src/dashboard/styles.css'),
    '--output',
    join(dist, 'dashboard.css'),
    '--minify',
  ],
  { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
)

copyFileSync(join(modules, 'htmx.org/dist/htmx.min.js'), join(dist, 'vendor/htmx.min.js'))
copyFileSync(join(modules, 'chart.js/dist/chart.umd.js'), join(dist, 'vendor/chart.umd.js'))

await build({
  entryPoints: {
    dashboard: join(root, 'src/dashboard/client/main.ts'),
    demo: join(root, 'src/dashboard/client/demo.ts'),
  },
  outdir: dist,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  logLevel: 'warning',
})
console.log('dashboard assets built in dist/')
