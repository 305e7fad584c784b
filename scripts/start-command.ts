import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The node arguments of `npm start` (package.json), with the entry made absolute: the
 * benchmarks and the crash test start the server exactly as users do, flags included.
 */
export function startArgs(root: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string }
  }
  const [command, ...args] = scripts.start.trim().split(/\s+/)
  if (command !== 'node' || args.length === 0) {
    throw new Error(`start-command: expected "node [flags] entry", got "${scripts.start}"`)
  }
  const entry = args.pop() as string
  return [...args, join(root, entry)]
}
