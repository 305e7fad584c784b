import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DIST_DIR } from '../config/app-root.ts'

/** Where `npm run build:tracker` writes the tracker. */
export const TRACKER_FILE = join(DIST_DIR, 'liveinsight.js')

/**
 * The built tracker for `GET /liveinsight.js`, read once at start-up. While the file is
 * missing (not built yet) each call looks again, so building it needs no restart.
 */
export function builtTrackerScript(file: string = TRACKER_FILE): () => string | undefined {
  const read = () => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return undefined
    }
  }
  let script = read()
  return () => (script ??= read())
}
