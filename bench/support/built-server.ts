import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'
import { SERVER_BUNDLE } from '../../scripts/server-bundle.ts'
import { startArgs } from '../../scripts/start-command.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The server exactly as `npm start` runs it (its node flags included): the bundle in
 * dist/server, rebuilt from the current sources first. Returns the node arguments.
 */
export function builtServerArgs(): string[] {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-server.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  return startArgs(ROOT)
}

/** The bare-Hono floor (bench/baseline-server.ts), bundled the same way so both run as JS. */
export function builtBaselineArgs(): string[] {
  const outfile = `${ROOT}dist/bench/baseline-server.mjs`
  buildSync({
    absWorkingDir: ROOT,
    entryPoints: ['bench/baseline-server.ts'],
    outfile,
    ...SERVER_BUNDLE,
  })
  // The same node flags as the server, so the two differ only in the code they run.
  return [...startArgs(ROOT).slice(0, -1), outfile]
}
