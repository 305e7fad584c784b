import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The installed package's root (where package.json and dist/ live), found by walking up from
 * this module. It works from the sources under tsx and from the bundled server in
 * dist/server/, where every module shares the bundle's own location.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }
      if (name === 'liveinsight') return dir
    }
    if (dirname(dir) === dir) throw new Error(`app-root: no liveinsight package.json above ${from}`)
  }
}

export const APP_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))
/** Built front-end files: tracker, dashboard assets, vendored libraries. */
export const DIST_DIR = join(APP_ROOT, 'dist')
