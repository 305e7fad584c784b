import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startArgs } from '../../scripts/start-command.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** `npm start`'s node arguments; `npm test` builds the bundle before the tests run. */
const START_ARGS = startArgs(ROOT)
const BUILT_SERVER = START_ARGS.at(-1) as string

export interface ChildServer {
  child: ChildProcess
  url: string
  /** Everything the process printed, for failure messages. */
  output: () => string
  /**
   * Resolves with the first match of `pattern` in what the process prints. The start-up
   * banner follows the "listening" line, possibly in a later chunk of the stream.
   */
  printed: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
}

/**
 * The built server (dist/server/node.mjs, writer threads included) in its own process, with
 * `npm start`'s flags; resolves once it listens.
 */
export function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ChildServer> {
  if (!existsSync(BUILT_SERVER)) {
    throw new Error(`${BUILT_SERVER} is missing: run npm run build:server (npm test does)`)
  }
  const child = spawn(process.execPath, START_ARGS, {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let printed = ''
  const waiters = new Set<() => void>()
  const append = (text: string) => {
    printed += text
    for (const check of waiters) check()
  }
  child.stderr?.on('data', (chunk) => append(String(chunk)))
  const printedMatch = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = printed.match(pattern)
        if (!match) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(match)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`server did not print ${pattern} in ${timeoutMs} ms:\n${printed}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${printed}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${printed}`))
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      append(`${line}\n`)
      if (!line.startsWith('{')) return
      const entry = JSON.parse(line) as { msg?: string; url?: string }
      if (entry.msg === 'listening' && entry.url) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({ child, url: entry.url, output: () => printed, printed: printedMatch })
      }
    })
  })
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}
