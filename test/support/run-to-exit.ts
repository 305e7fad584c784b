import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Exited {
  code: number | null
  stderr: string
}

/**
 * A command of ours run to its end from the project's root, as a person runs it: its exit
 * code and what it printed on stderr. `env` is the whole environment, so a test can leave a
 * variable out (DYNAMODB_ENDPOINT) or narrow PATH.
 */
export function runToExit(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<Exited> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} did not exit in ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })
}

/** A TCP port on 127.0.0.1 that nothing listens on: one the OS just handed out and took back. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Whatever a failure printed, it is a line to act on, not a stack trace. */
export const STACK_FRAME = /\n\s+at /
