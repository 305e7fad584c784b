/**
 * Builds the AWS shape's Lambda package (`scripts/build.sh` runs it): src/entry/lambda.ts
 * and everything it imports in one minified ES module, plus the built front-end files the
 * app serves and a package.json that marks the root, zipped into
 * dist/lambda/liveinsight-lambda.zip. One package for every function: the handler name picks
 * the function (lambda.http, lambda.rollup, lambda.sweep).
 *
 * The AWS SDK is bundled at the versions package-lock.json pins, like everything else the
 * code imports: the SDK the nodejs22.x runtime carries is whichever version Lambda last
 * put there, which changes under a deployed function and is not the one the tests ran.
 * better-sqlite3 (the embedded store, a native module) is never loaded on AWS.
 *
 * Each build starts from an empty dist/lambda: scripts/deploy.sh keeps every package it
 * deploys in releases/, out of a build's reach.
 *   tsx scripts/build-lambda.ts
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { ASSETS } from '../src/http/routes/assets.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'dist', 'lambda')
const stage = join(out, 'package')
export const LAMBDA_ZIP = join(out, 'liveinsight-lambda.zip')

rmSync(out, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })

await build({
  absWorkingDir: root,
  entryPoints: { lambda: 'src/entry/lambda.ts' },
  outdir: stage,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  // Runs on nodejs22.x; built for 20 as well, so the tests' Node can load it.
  target: 'node20',
  external: ['better-sqlite3'],
  // Some bundled CommonJS packages call require(): give the ES module one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
})

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}
// The app finds its root (and dist/) by this package.json (src/config/app-root.ts).
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify({ name: manifest.name, version: manifest.version, type: 'module' })}\n`,
)
const dist = join(root, 'dist')
for (const file of ['liveinsight.js', 'dashboard.css', 'dashboard.js', 'demo.js', 'vendor']) {
  cpSync(join(dist, file), join(stage, 'dist', file), { recursive: true })
}
execFileSync('zip', ['-q', '-r', '-9', LAMBDA_ZIP, '.'], { cwd: stage })

// What CloudFront serves from S3, laid out as the URLs the pages use (/assets/NAME, the
// tracker at /liveinsight.js); scripts/deploy.sh uploads this folder.
const staticDir = join(out, 'static')
mkdirSync(join(staticDir, 'assets'), { recursive: true })
for (const [name, { file }] of Object.entries(ASSETS)) {
  cpSync(join(dist, file), join(staticDir, 'assets', name))
}
cpSync(join(dist, 'liveinsight.js'), join(staticDir, 'liveinsight.js'))
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`
process.stdout.write(
  `lambda: ${LAMBDA_ZIP} ${kb(statSync(LAMBDA_ZIP).size)} (bundle ${kb(statSync(join(stage, 'lambda.mjs')).size)} unzipped)\n`,
)
